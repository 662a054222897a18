// /v1/clusters and /v1/clusters/{cluster}: the registry of clusters (admin only).
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { Cluster, ClusterList, ClusterSpec } from '../../src/api/clusters.js';
import { ClusterParam, PageQuery } from '../../src/api/common.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import type { KnownClusters } from '../known-clusters.js';
import { ERROR_RESPONSES, json, registryStub } from './route-kit.js';

const putCluster = createRoute({
  method: 'put',
  path: '/v1/clusters/{cluster}',
  summary: 'Create a cluster, or change its cluster ID while it has no identities; adopts data its object already holds',
  request: {
    params: ClusterParam,
    body: { required: false, content: { 'application/json': { schema: ClusterSpec } } },
  },
  responses: { 201: json(Cluster, 'Created'), 200: json(Cluster, 'Already there (its ID set as given)'), ...ERROR_RESPONSES },
});

const getCluster = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}',
  summary: 'Get a cluster',
  request: { params: ClusterParam },
  responses: { 200: json(Cluster, 'The cluster'), ...ERROR_RESPONSES },
});

const listClusters = createRoute({
  method: 'get',
  path: '/v1/clusters',
  summary: 'List clusters by name',
  request: { query: PageQuery },
  responses: { 200: json(ClusterList, 'One page of clusters'), ...ERROR_RESPONSES },
});

const deleteCluster = createRoute({
  method: 'delete',
  path: '/v1/clusters/{cluster}',
  summary: 'Delete a cluster that has no nodes left, with all its data',
  request: { params: ClusterParam },
  responses: { 200: json(Cluster, 'Deleted'), ...ERROR_RESPONSES },
});

export function registerClusterRoutes(app: OpenAPIHono<AppEnv>, known: KnownClusters): void {
  app.openapi(putCluster, async (c) => {
    const { cluster } = c.req.valid('param');
    const out = unwrap(await registryStub(c.env).putCluster(cluster, c.req.valid('json')['cluster-id'] ?? 0));
    known.remember(cluster);
    return out.created ? c.json(out.cluster, 201) : c.json(out.cluster, 200);
  });
  app.openapi(getCluster, async (c) => {
    return c.json(unwrap(await registryStub(c.env).getCluster(c.req.valid('param').cluster)), 200);
  });
  app.openapi(listClusters, async (c) => {
    return c.json(unwrap(await registryStub(c.env).listClusters(c.req.valid('query'))), 200);
  });
  app.openapi(deleteCluster, async (c) => {
    const { cluster } = c.req.valid('param');
    const out = unwrap(await registryStub(c.env).deleteCluster(cluster));
    known.forget(cluster);
    return c.json(out, 200);
  });
}
