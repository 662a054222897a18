// Namespace schemas: a namespace's labels, which its endpoints carry as
// `k8s:io.cilium.k8s.namespace.labels.<key>=<value>`.
import { z } from '@hono/zod-openapi';

export const NamespaceSpec = z
  .strictObject({
    labels: z.record(z.string().max(317), z.string().max(63)).openapi({ example: { 'kubernetes.io/metadata.name': 'default', team: 'web' } }),
  })
  .openapi('NamespaceSpec');
export type NamespaceSpec = z.infer<typeof NamespaceSpec>;

export const Namespace = z
  .object({
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    'created-at': z.string(),
    'updated-at': z.string(),
    'relabel-pending': z.boolean().openapi({
      description: "True while the namespace's endpoints are still moving to identities with its current labels (in batches)",
    }),
  })
  .openapi('Namespace');
export type Namespace = z.infer<typeof Namespace>;

export const NamespaceList = z
  .object({ namespaces: z.array(Namespace), 'next-cursor': z.string().optional() })
  .openapi('NamespaceList');
export type NamespaceList = z.infer<typeof NamespaceList>;
