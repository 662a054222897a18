// Node schemas.
import { z } from '@hono/zod-openapi';

export const NodeSpec = z
  .strictObject({ ipv4: z.string().max(64).optional(), ipv6: z.string().max(64).optional() })
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
  })
  .openapi('Node');
export type Node = z.infer<typeof Node>;

export const NodeList = z.object({ nodes: z.array(Node) }).openapi('NodeList');
export type NodeList = z.infer<typeof NodeList>;
