// Network policy schemas: CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy objects as stored,
// their lists, an identity's computed map entries, and policy traces.
import { z } from '@hono/zod-openapi';
import { ClusterParam, EndpointParam } from './common.js';

export const MAX_POLICY_PAGE = 1000;

const Json = z.record(z.string(), z.unknown());

/** STABLE FORMAT: a stored policy object, as `kubectl get -o json` shows one. */
export const PolicyObject = z
  .object({
    apiVersion: z.literal('cilium.io/v2'),
    kind: z.enum(['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy']),
    metadata: z.object({
      name: z.string(),
      namespace: z.string().optional(),
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
      creationTimestamp: z.string().openapi({ description: 'RFC 3339' }),
      generation: z.number().int().openapi({ description: '1, then +1 per change' }),
      resourceVersion: z.string().openapi({ description: 'The policy revision of its last change' }),
    }),
    spec: Json.optional(),
    specs: z.array(Json).optional(),
  })
  .openapi('PolicyObject');
export type PolicyObject = z.infer<typeof PolicyObject>;

const PolicyRevision = z.number().int().openapi({ description: "The cluster's policy revision (starts at 1, +1 per policy change)" });
const Revision = z.number().int().openapi({ description: 'The cluster revision the mutation committed (the current one for a no-op)' });

export const PolicyAnswer = z.object({ policy: PolicyObject, 'policy-revision': PolicyRevision }).openapi('PolicyAnswer');
export type PolicyAnswer = z.infer<typeof PolicyAnswer>;
export const PolicyMutation = PolicyAnswer.extend({ revision: Revision }).openapi('PolicyMutation');
export type PolicyMutation = z.infer<typeof PolicyMutation>;

export const PolicyList = z
  .object({ items: z.array(PolicyObject), 'policy-revision': PolicyRevision, 'next-cursor': z.string().optional() })
  .openapi('PolicyList');
export type PolicyList = z.infer<typeof PolicyList>;

export const PolicyListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_POLICY_PAGE).optional().openapi({ description: `Page size, at most ${MAX_POLICY_PAGE}; 100 by default` }),
  cursor: z.string().max(4096).optional().openapi({ description: '`next-cursor` of the previous page' }),
});

export const MAX_SELECTOR_IDENTITIES = 1000;

export const PolicySelectorsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_SELECTOR_IDENTITIES)
    .optional()
    .openapi({ description: `Identities listed per selector, at most ${MAX_SELECTOR_IDENTITIES}; 100 by default` }),
});

export const PolicySelectors = z
  .object({
    'policy-revision': PolicyRevision,
    selectors: z
      .array(
        z.object({
          selector: z.string().openapi({ description: 'The selector key (its extended-key JSON), as the SelectorCache names it' }),
          identities: z.array(z.number().int()).openapi({ description: 'The lowest `limit` identities it selects, ascending' }),
          count: z.number().int().openapi({ description: 'How many identities it selects in all' }),
        }),
      )
      .openapi({
        description:
          "Each selector of the policy (rule subjects and peers, once each) sorted by selector key: what the SelectorCache holds for it, or, for a peer no identity's policy uses yet, what it would hold",
      }),
  })
  .openapi('PolicySelectors');
export type PolicySelectors = z.infer<typeof PolicySelectors>;

const K8sName = z.string().min(1).max(253).openapi({ description: 'Validated with the policy body (errors name metadata.name / metadata.namespace)' });
export const NamespaceParam = ClusterParam.extend({ namespace: K8sName.openapi({ param: { name: 'namespace', in: 'path' } }) });
export const CnpParam = NamespaceParam.extend({ name: K8sName.openapi({ param: { name: 'name', in: 'path' } }) });
export const CcnpParam = ClusterParam.extend({ name: K8sName.openapi({ param: { name: 'name', in: 'path' } }) });

export const PolicyMapEntry = z
  .object({
    key: z.string().openapi({ description: 'The 12-byte policy_key, hex' }),
    value: z.string().openapi({ description: 'The 8-byte policy_entry, hex' }),
    identity: z.number().int().openapi({ description: 'Remote identity; 0 = any' }),
    direction: z.enum(['ingress', 'egress']),
    protocol: z.number().int().openapi({ description: 'IANA number; 0 = any' }),
    port: z.number().int().openapi({ description: '0 = all ports' }),
    'end-port': z.number().int().optional().openapi({ description: 'Last port of a range block' }),
    'prefix-length': z.number().int().openapi({ description: 'The LPM length P (0–24)' }),
    verdict: z.enum(['allow', 'deny']),
    policies: z.array(z.string()).openapi({ description: 'Policies whose rules produced the entry' }),
  })
  .openapi('PolicyMapEntry');
export type PolicyMapEntry = z.infer<typeof PolicyMapEntry>;

export const IdentityPolicy = z
  .object({
    'policy-revision': z.number().int().openapi({ description: "The policy revision the identity's policy was computed at" }),
    'ingress-enforced': z.boolean(),
    'egress-enforced': z.boolean(),
    entries: z.array(PolicyMapEntry).openapi({ description: "The endpoint's whole cilium_policy_v2 map, sorted by key bytes" }),
  })
  .openapi('IdentityPolicy');
export type IdentityPolicy = z.infer<typeof IdentityPolicy>;

export const IdentityPolicyParam = ClusterParam.extend({
  nid: z.string().regex(/^[0-9]{1,10}$/).openapi({ param: { name: 'nid', in: 'path' }, example: '256' }),
});
export const EndpointPolicyParam = EndpointParam;

const TraceParty = z.union([
  z.object({ identity: z.number().int().min(0).max(0xffffffff) }).strict(),
  z.object({ labels: z.array(z.string().max(1024)).max(256) }).strict(),
  z.object({ endpoint: z.object({ node: z.string().min(1).max(253), ref: z.string().min(1).max(300) }).strict() }).strict(),
]);
export type TraceParty = z.infer<typeof TraceParty>;

export const TraceRequest = z
  .object({
    from: TraceParty,
    to: TraceParty,
    protocol: z.union([z.enum(['TCP', 'UDP', 'SCTP']), z.number().int().min(0).max(255)]),
    port: z.number().int().min(0).max(65535),
  })
  .strict()
  .openapi('TraceRequest');
export type TraceRequest = z.infer<typeof TraceRequest>;

const TraceSide = z.object({ verdict: z.enum(['allow', 'deny']), entry: PolicyMapEntry.nullable(), policies: z.array(z.string()) });
export const TraceAnswer = z
  .object({
    verdict: z.enum(['allow', 'deny']),
    from: z.number().int().openapi({ description: 'The source identity' }),
    to: z.number().int().openapi({ description: 'The destination identity' }),
    egress: TraceSide,
    ingress: TraceSide,
  })
  .openapi('TraceAnswer');
export type TraceAnswer = z.infer<typeof TraceAnswer>;
