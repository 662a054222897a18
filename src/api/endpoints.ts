// Endpoint API schemas: Cilium's EndpointChangeRequest subset and the endpoint model.
import { z } from '@hono/zod-openapi';
import { PageQuery } from './common.js';

export const ENDPOINT_STATES = [
  'waiting-for-identity',
  'not-ready',
  'waiting-to-regenerate',
  'regenerating',
  'restoring',
  'ready',
  'disconnecting',
  'disconnected',
  'invalid',
] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];

const LabelList = z.array(z.string().max(400)).max(256);

export const AddressPair = z
  .strictObject({
    ipv4: z.string().max(64).optional(),
    ipv6: z.string().max(64).optional(),
  })
  .openapi('AddressPair');

export const EndpointChangeRequest = z
  .strictObject({
    addressing: AddressPair.optional(),
    labels: LabelList.optional().openapi({ example: ['k8s:app=web'] }),
    'k8s-namespace': z.string().max(63).optional(),
    'k8s-pod-name': z.string().max(253).optional(),
    'container-id': z.string().max(128).optional(),
    'container-interface-name': z.string().max(15).optional(),
    'interface-name': z.string().max(15).optional().openapi({ description: 'Host-side interface (lxc) name' }),
    'interface-index': z.number().int().min(0).max(0xffffffff).optional(),
    mac: z.string().max(17).optional().openapi({ description: 'Endpoint MAC address' }),
    'host-mac': z.string().max(17).optional().openapi({ description: 'Host-side MAC address' }),
    'sync-build-endpoint': z.boolean().optional(),
    'wait-for-nodes': z.boolean().optional().openapi({
      description: "Answer only once every live node has applied the revision holding the new endpoint's ipcache entries (bounded by the cluster's `wait-for-nodes-timeout`)",
    }),
  })
  .openapi('EndpointChangeRequest');
export type EndpointChangeRequest = z.infer<typeof EndpointChangeRequest>;

export const LabelPatch = z
  .strictObject({
    add: LabelList.optional(),
    delete: LabelList.optional(),
  })
  .openapi('LabelPatch');
export type LabelPatch = z.infer<typeof LabelPatch>;

export const IdentityRef = z.object({
  id: z.number().int(),
  labels: z.array(z.string()),
  labelsSHA256: z.string(),
});

export const Endpoint = z
  .object({
    id: z.number().int(),
    node: z.string(),
    'container-id': z.string().optional(),
    'container-interface-name': z.string().optional(),
    'k8s-namespace': z.string().optional(),
    'k8s-pod-name': z.string().optional(),
    'interface-name': z.string().optional(),
    'interface-index': z.number().int().optional(),
    mac: z.string().optional(),
    'host-mac': z.string().optional(),
    state: z.enum(ENDPOINT_STATES),
    addressing: z.object({ ipv4: z.string().optional(), ipv6: z.string().optional() }),
    identity: IdentityRef,
    labels: z.object({
      identity: z.array(z.string()).openapi({ description: 'Identity-relevant labels, sorted' }),
      information: z.array(z.string()).openapi({ description: 'Labels the label filter left out, sorted' }),
    }),
    'policy-revision': z.number().int(),
    regenerations: z.number().int(),
    'policy-enforcement': z.object({ ingress: z.boolean(), egress: z.boolean() }),
    revision: z.number().int().optional().openapi({ description: 'In mutation answers: the cluster revision the change committed (the current one for a no-op)' }),
    'lagging-nodes': z.array(z.string()).optional().openapi({
      description: 'In the answer to a create with `wait-for-nodes`: the live nodes that had not applied `revision` when the wait timed out (empty when all had)',
    }),
  })
  .openapi('Endpoint');
export type Endpoint = z.infer<typeof Endpoint>;

export const EndpointListQuery = PageQuery.extend({
  node: z.string().max(63).optional(),
  namespace: z.string().max(63).optional(),
  labels: z.string().max(4096).optional().openapi({ description: 'Comma-separated labels the endpoint must all carry' }),
});

export const EndpointList = z
  .object({ endpoints: z.array(Endpoint), 'next-cursor': z.string().optional() })
  .openapi('EndpointList');
export type EndpointList = z.infer<typeof EndpointList>;
