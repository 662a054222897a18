// Shared API schemas: the error body, path parameters and the list-page shape.
import { z } from '@hono/zod-openapi';
import { ERROR_CODES } from '../core/errors.js';
import { isDns1123Label } from '../core/k8s-names.js';
import { MAX_PAGE_LIMIT } from '../core/page-limits.js';

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({ description: 'Machine-readable error code' }),
      message: z.string(),
    }),
  })
  .openapi('Error');
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/** A zod string check whose failure carries a project error code (read by the validation hook). */
function dnsLabel(code: 'invalid-cluster-name' | 'invalid-node-name' | 'invalid-namespace-name', what: string) {
  return z.string().refine(isDns1123Label, { message: `${what} must be a DNS-1123 label`, params: { code } });
}

export const ClusterParam = z.object({
  cluster: dnsLabel('invalid-cluster-name', 'cluster name').openapi({ param: { name: 'cluster', in: 'path' }, example: 'default' }),
});

export const NodeParam = ClusterParam.extend({
  node: dnsLabel('invalid-node-name', 'node name').openapi({ param: { name: 'node', in: 'path' }, example: 'node-1' }),
});

export const NamespaceParam = ClusterParam.extend({
  namespace: dnsLabel('invalid-namespace-name', 'namespace').openapi({ param: { name: 'namespace', in: 'path' }, example: 'default' }),
});

export const EndpointParam = NodeParam.extend({
  ref: z.string().min(1).max(300).openapi({
    param: { name: 'ref', in: 'path' },
    description: 'Endpoint ID (`N`, `cilium-local:N`), `cni-attachment-id:<cid>[:<if>]`, `container-id:<cid>` or `pod-name:<ns>:<pod>`',
    example: 'cilium-local:0',
  }),
});

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).optional().openapi({ description: `Page size, at most ${MAX_PAGE_LIMIT}` }),
  cursor: z.string().max(512).optional().openapi({ description: 'The `next-cursor` of the previous page' }),
});

export const JSON_BODY_LIMIT = 64 * 1024;
