// /v1/clusters/{cluster}/identities and /ipcache
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam } from '../../src/api/common.js';
import { Identity, IdentityList, IdentityListQuery, IdentityParam, Ipcache, IpcacheQuery } from '../../src/api/identities.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json } from './route-kit.js';

const listIdentities = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/identities',
  summary: "List identities (the cluster's, then the CIDR ones), or look one up by labels",
  request: { params: ClusterParam, query: IdentityListQuery },
  responses: { 200: json(IdentityList, 'Identities'), ...ERROR_RESPONSES },
});

const getIdentity = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/identities/{nid}',
  summary: 'Get an identity by number (reserved ones included)',
  request: { params: ClusterParam.merge(IdentityParam) },
  responses: { 200: json(Identity, 'The identity'), ...ERROR_RESPONSES },
});

const getIpcache = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/ipcache',
  summary: "The ipcache: endpoint addresses and policies' CIDR prefixes with their identities, at one revision",
  request: { params: ClusterParam, query: IpcacheQuery },
  responses: { 200: json(Ipcache, 'One page of the ipcache'), ...ERROR_RESPONSES },
});

export function registerIdentityRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listIdentities, async (c) => {
    const { cluster } = c.req.valid('param');
    const q = c.req.valid('query');
    const args = { labels: q.labels, reserved: q.reserved === 'true', limit: q.limit, cursor: q.cursor };
    return c.json(unwrap(await clusterStub(c.env, cluster).listIdentities(c.get('principal'), args)), 200);
  });
  app.openapi(getIdentity, async (c) => {
    const { cluster, nid } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getIdentity(c.get('principal'), Number(nid))), 200);
  });
  app.openapi(getIpcache, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getIpcache(c.get('principal'), c.req.valid('query'))), 200);
  });
}
