// Cluster schemas: the registry's resource. A cluster must be put before any of its routes answer.
import { z } from '@hono/zod-openapi';
import { MAX_CLUSTER_ID } from '../core/identity.js';

export const ClusterSpec = z
  .strictObject({
    'cluster-id': z.number().int().min(0).max(MAX_CLUSTER_ID).optional().openapi({
      description: `Cilium cluster ID (bits 16–23 of the cluster's identities), 0..${MAX_CLUSTER_ID}. 0 (default): not meshed, shared by any number of clusters; a non-zero ID is unique`,
    }),
  })
  .openapi('ClusterSpec');
export type ClusterSpec = z.infer<typeof ClusterSpec>;

export const Cluster = z
  .object({
    name: z.string(),
    'cluster-id': z.number().int(),
    'created-at': z.string(),
  })
  .openapi('Cluster');
export type Cluster = z.infer<typeof Cluster>;

export const ClusterList = z
  .object({ clusters: z.array(Cluster), 'next-cursor': z.string().optional() })
  .openapi('ClusterList');
export type ClusterList = z.infer<typeof ClusterList>;
