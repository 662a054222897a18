// /v1/clusters/{cluster}/nodes/{node}/policy: the node's policy snapshot, for an agent's resync.
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { NodeParam } from '../../src/api/common.js';
import { NodePolicy, NodePolicyQuery } from '../../src/api/node-policy.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json } from './route-kit.js';

const getNodePolicy = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/nodes/{node}/policy',
  summary: "The policy of every identity with an endpoint on the node, at the first page's revision, paged by bytes",
  request: { params: NodeParam, query: NodePolicyQuery },
  responses: { 200: json(NodePolicy, 'One page of the snapshot'), ...ERROR_RESPONSES },
});

export function registerNodePolicyRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getNodePolicy, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getNodePolicy(c.get('principal'), node, c.req.valid('query'))), 200);
  });
}
