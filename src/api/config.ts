// Per-cluster configuration schemas.
import { z } from '@hono/zod-openapi';

export const ClusterConfig = z
  .object({
    'label-filter': z.array(z.string()),
    'identity-gc-grace-seconds': z.number().int(),
    'identity-quarantine-seconds': z.number().int(),
    'feed-horizon-revisions': z.number().int().openapi({ description: 'Revisions the change feed keeps; an older `since` must resync' }),
    'node-identity-rate': z.number().openapi({ description: 'New identities per second one node token may allocate (token bucket); the admin is not limited' }),
    'node-identity-burst': z.number().int().openapi({ description: 'New identities one node token may allocate at once (the bucket size)' }),
    'wait-for-nodes-timeout': z.number().openapi({ description: 'Seconds a create with `wait-for-nodes` waits for the live nodes before it answers with the lagging ones' }),
    'node-liveness-seconds': z.number().openapi({ description: 'A node heard from (ack, long-poll, heartbeat) within this many seconds, or with an open feed socket or long-poll, is live: creates with `wait-for-nodes` wait for it' }),
    revision: z.number().int().optional().openapi({ description: 'In mutation answers: the cluster revision the change committed (the current one for a no-op)' }),
  })
  .openapi('ClusterConfig');
export type ClusterConfig = z.infer<typeof ClusterConfig>;

const MAX_SECONDS = 30 * 24 * 3600;

export const ClusterConfigPatch = z
  .strictObject({
    'label-filter': z.array(z.string().min(1).max(256)).max(256).optional(),
    'identity-gc-grace-seconds': z.number().int().min(0).max(MAX_SECONDS).optional(),
    'identity-quarantine-seconds': z.number().int().min(0).max(MAX_SECONDS).optional(),
    'feed-horizon-revisions': z.number().int().min(1).max(10_000_000).optional(),
    'node-identity-rate': z.number().min(0.001).max(1_000_000).optional(),
    'node-identity-burst': z.number().int().min(1).max(1_000_000).optional(),
    'wait-for-nodes-timeout': z.number().min(0).max(60).optional(),
    'node-liveness-seconds': z.number().min(1).max(3600).optional(),
  })
  .openapi('ClusterConfigPatch');
export type ClusterConfigPatch = z.infer<typeof ClusterConfigPatch>;
