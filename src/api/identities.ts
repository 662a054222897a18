// Identity and ipcache schemas.
import { z } from '@hono/zod-openapi';
import { PageQuery } from './common.js';
import { MAX_IPCACHE_PAGE } from '../core/page-limits.js';

export const Identity = z
  .object({
    id: z.number().int(),
    labels: z.array(z.string()),
    labelsSHA256: z.string(),
    namespace: z.string().nullable().openapi({ description: "Its pods' namespace (from its labels); null for reserved and CIDR identities" }),
    references: z.number().int().openapi({ description: 'Endpoints using the identity; 0 for reserved and CIDR identities' }),
    'created-at': z.string().nullable().openapi({ description: 'RFC 3339; null for reserved and CIDR identities' }),
  })
  .openapi('Identity', {
    description:
      'A security identity: allocated for endpoint label sets (cluster scope), reserved (1–11), or a CIDR identity ' +
      '(local scope, from 16777217): one per prefix a policy names, labelled `cidr:<prefix>` and `reserved:world`, ' +
      'listed after the cluster identities while a policy names its prefix.',
  });
export type Identity = z.infer<typeof Identity>;

export const IdentityListQuery = PageQuery.extend({
  labels: z.string().max(4096).optional().openapi({ description: 'Comma-separated labels: look one identity up' }),
  reserved: z.enum(['true', 'false']).optional().openapi({ description: 'Include the reserved identities' }),
});

export const IdentityList = z
  .object({ identities: z.array(Identity), 'next-cursor': z.string().optional() })
  .openapi('IdentityList');
export type IdentityList = z.infer<typeof IdentityList>;

export const IdentityParam = z.object({
  nid: z.string().regex(/^[0-9]{1,10}$/).openapi({ param: { name: 'nid', in: 'path' }, example: '256' }),
});

export const IpcacheEntry = z
  .object({
    prefix: z.string(),
    identity: z.number().int(),
    node: z.string().nullable().openapi({ description: "The endpoint's node; null for a CIDR identity's prefix" }),
    'host-ip': z.string().nullable().openapi({ description: "The node's tunnel address; null for a CIDR identity's prefix" }),
    endpoint: z.number().int().nullable().openapi({ description: "The endpoint holding the address; null for a CIDR identity's prefix" }),
  })
  .openapi('IpcacheEntry', {
    description:
      "An endpoint's address, or a prefix a policy names with its CIDR identity (no node, endpoint or tunnel). " +
      "Where a policy names an endpoint's own address, the endpoint's entry is the one listed (as in Cilium's ipcache).",
  });
export type IpcacheEntry = z.infer<typeof IpcacheEntry>;

export const Ipcache = z
  .object({ revision: z.number().int(), entries: z.array(IpcacheEntry), 'next-cursor': z.string().optional() })
  .openapi('Ipcache');
export type Ipcache = z.infer<typeof Ipcache>;

export const IpcacheQuery = PageQuery.extend({
  limit: z.coerce.number().int().min(1).max(MAX_IPCACHE_PAGE).optional().openapi({ description: `Page size, at most ${MAX_IPCACHE_PAGE}` }),
});
