// Node schemas: registration, leases, heartbeats.
import { z } from '@hono/zod-openapi';

export const NodeSpec = z
  .strictObject({
    ipv4: z.string().max(64).optional(),
    ipv6: z.string().max(64).optional(),
    'lease-seconds': z.number().int().min(0).max(86400).optional().openapi({
      description:
        'Lease TTL renewed by heartbeats; when it lapses the node and its endpoints are removed. 0: no lease. Omitted: a new node has none, an existing node keeps the lease it has',
    }),
    'rotate-token': z.boolean().optional().openapi({ description: 'Issue a new node token (the old one stops working)' }),
  })
  .openapi('NodeSpec');
export type NodeSpec = z.infer<typeof NodeSpec>;

export const Node = z
  .object({
    name: z.string(),
    ipv4: z.string().optional(),
    ipv6: z.string().optional(),
    endpoints: z.number().int(),
    'created-at': z.string(),
    'updated-at': z.string(),
    'lease-seconds': z.number().int(),
    'lease-expires-at': z.string().nullable(),
    'last-heartbeat': z.string().nullable(),
    'applied-revision': z.number().int(),
    lag: z.number().int().openapi({ description: 'Cluster revision minus the revision the node applied' }),
    'deleting-since': z.string().optional().openapi({
      description: 'Present while the node is being removed (DELETE or lease expiry): its endpoints go in batches, then the node',
    }),
  })
  .openapi('Node');
export type Node = z.infer<typeof Node>;

export const NodeRegistration = Node.extend({
  token: z.string().optional().openapi({ description: 'The node token, returned once when issued' }),
  revision: z.number().int().optional().openapi({ description: 'In mutation answers: the cluster revision the change committed (the current one for a no-op)' }),
}).openapi('NodeRegistration');
export type NodeRegistration = z.infer<typeof NodeRegistration>;

export const NodeList = z
  .object({ revision: z.number().int(), nodes: z.array(Node), 'next-cursor': z.string().optional() })
  .openapi('NodeList');
export type NodeList = z.infer<typeof NodeList>;

export const Heartbeat = z
  .strictObject({ 'applied-revision': z.number().int().min(0) })
  .openapi('Heartbeat');
export type Heartbeat = z.infer<typeof Heartbeat>;
