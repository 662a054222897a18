// /v1/clusters/{cluster}/config
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam } from '../../src/api/common.js';
import { ClusterConfig, ClusterConfigPatch } from '../../src/api/config.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json, jsonBody } from './route-kit.js';

const getConfig = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/config',
  summary: 'Per-cluster settings',
  request: { params: ClusterParam },
  responses: { 200: json(ClusterConfig, 'The settings'), ...ERROR_RESPONSES },
});

const patchConfig = createRoute({
  method: 'patch',
  path: '/v1/clusters/{cluster}/config',
  summary: 'Change per-cluster settings; a new label filter applies at the next regeneration',
  request: { params: ClusterParam, body: jsonBody(ClusterConfigPatch) },
  responses: { 200: json(ClusterConfig, 'The new settings'), ...ERROR_RESPONSES },
});

export function registerConfigRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getConfig, async (c) => {
    return c.json(unwrap(await clusterStub(c.env, c.req.valid('param').cluster).getConfig(c.get('principal'))), 200);
  });
  app.openapi(patchConfig, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).patchConfig(c.get('principal'), c.req.valid('json'))), 200);
  });
}
