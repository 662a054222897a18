// /v1/clusters/{cluster}/nodes
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam, NodeParam } from '../../src/api/common.js';
import { Node, NodeList, NodeSpec } from '../../src/api/nodes.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json, jsonBody } from './route-kit.js';

const NodeDeleted = z.object({ name: z.string(), 'endpoints-removed': z.number().int() }).openapi('NodeDeleted');

const putNode = createRoute({
  method: 'put',
  path: '/v1/clusters/{cluster}/nodes/{node}',
  summary: 'Register or update a node',
  request: { params: NodeParam, body: jsonBody(NodeSpec) },
  responses: { 200: json(Node, 'Updated'), 201: json(Node, 'Registered'), ...ERROR_RESPONSES },
});

const getNode = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/nodes/{node}',
  summary: 'Get a node',
  request: { params: NodeParam },
  responses: { 200: json(Node, 'The node'), ...ERROR_RESPONSES },
});

const listNodes = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/nodes',
  summary: 'List nodes',
  request: { params: ClusterParam },
  responses: { 200: json(NodeList, 'All nodes'), ...ERROR_RESPONSES },
});

const deleteNode = createRoute({
  method: 'delete',
  path: '/v1/clusters/{cluster}/nodes/{node}',
  summary: 'Delete a node with its endpoints, releasing their identities',
  request: { params: NodeParam },
  responses: { 200: json(NodeDeleted, 'Deleted'), ...ERROR_RESPONSES },
});

export function registerNodeRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putNode, async (c) => {
    const { cluster, node } = c.req.valid('param');
    const out = unwrap(await clusterStub(c.env, cluster).putNode(node, c.req.valid('json')));
    return out.created ? c.json(out.node, 201) : c.json(out.node, 200);
  });
  app.openapi(getNode, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getNode(node)), 200);
  });
  app.openapi(listNodes, async (c) => {
    return c.json(unwrap(await clusterStub(c.env, c.req.valid('param').cluster).listNodes()), 200);
  });
  app.openapi(deleteNode, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).deleteNode(node)), 200);
  });
}
