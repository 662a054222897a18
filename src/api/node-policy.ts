// Schemas of a node's policy snapshot (GET /nodes/{node}/policy): what a node's agent loads to
// resync its policy maps, then follows with the feed's policy events from `revision` on.
import { z } from '@hono/zod-openapi';
import { MAX_NODE_POLICY_LIMIT } from '../core/page-limits.js';

export const NodePolicyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_NODE_POLICY_LIMIT).optional().openapi({ description: `Identities per page, at most ${MAX_NODE_POLICY_LIMIT} (default 100)` }),
  cursor: z.string().max(512).optional().openapi({ description: 'The `next-cursor` of the previous page' }),
});

/** One identity's complete policy, as the feed's `policy-upsert` carries it (STABLE FORMAT). */
export const IdentityPolicy = z
  .object({
    identity: z.number().int(),
    'policy-revision': z.number().int(),
    'ingress-enforced': z.boolean(),
    'egress-enforced': z.boolean(),
    entries: z.array(z.object({ key: z.string(), value: z.string() })).openapi({ description: 'policy_key / policy_entry as hex, sorted by key bytes' }),
  })
  .openapi('IdentityPolicy');
export type IdentityPolicy = z.infer<typeof IdentityPolicy>;

export const NodePolicy = z
  .object({
    revision: z.number().int().openapi({ description: 'The cluster revision of the first page: follow the feed from here' }),
    identities: z.array(IdentityPolicy),
    'next-cursor': z.string().optional(),
  })
  .openapi('NodePolicy');
export type NodePolicy = z.infer<typeof NodePolicy>;
