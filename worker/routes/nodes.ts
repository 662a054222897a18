// /v1/clusters/{cluster}/nodes
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam, NodeParam, PageQuery } from '../../src/api/common.js';
import { Heartbeat, Node, NodeList, NodeRegistration, NodeSpec } from '../../src/api/nodes.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json, jsonBody } from './route-kit.js';

const NodeDeleted = z
  .object({
    name: z.string(),
    'endpoints-removed': z.number().int().openapi({ description: 'Endpoints the node had when this request began' }),
    revision: z.number().int().openapi({ description: 'The cluster revision once the node is gone' }),
  })
  .openapi('NodeDeleted');

const putNode = createRoute({
  method: 'put',
  path: '/v1/clusters/{cluster}/nodes/{node}',
  summary: 'Register or update a node',
  request: { params: NodeParam, body: jsonBody(NodeSpec) },
  responses: { 200: json(NodeRegistration, 'Updated'), 201: json(NodeRegistration, 'Registered, with its node token'), ...ERROR_RESPONSES },
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
  request: { params: ClusterParam, query: PageQuery },
  responses: { 200: json(NodeList, 'One page of nodes'), ...ERROR_RESPONSES },
});

const deleteNode = createRoute({
  method: 'delete',
  path: '/v1/clusters/{cluster}/nodes/{node}',
  summary: 'Delete a node with its endpoints, releasing their identities',
  description:
    'The node is marked deleting at once (its token stops working; its endpoints cannot be created or changed), then its endpoints ' +
    'go in batches of at most 256, each one transaction and feed revision, and the node with the last batch. The answer comes ' +
    'once the node is gone; should the request stop half-way, the alarm finishes the removal.',
  request: { params: NodeParam },
  responses: { 200: json(NodeDeleted, 'Deleted'), ...ERROR_RESPONSES },
});

const heartbeat = createRoute({
  method: 'post',
  path: '/v1/clusters/{cluster}/nodes/{node}/heartbeat',
  summary: "Renew a node's lease and report the revision it has applied",
  request: { params: NodeParam, body: jsonBody(Heartbeat) },
  responses: { 200: json(Node, 'The node'), ...ERROR_RESPONSES },
});

export function registerNodeRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putNode, async (c) => {
    const { cluster, node } = c.req.valid('param');
    const out = unwrap(await clusterStub(c.env, cluster).putNode(c.get('principal'), node, c.req.valid('json')));
    return out.created ? c.json(out.node, 201) : c.json(out.node, 200);
  });
  app.openapi(getNode, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getNode(c.get('principal'), node)), 200);
  });
  app.openapi(listNodes, async (c) => {
    return c.json(unwrap(await clusterStub(c.env, c.req.valid('param').cluster).listNodes(c.get('principal'), c.req.valid('query'))), 200);
  });
  app.openapi(heartbeat, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).heartbeat(c.get('principal'), node, c.req.valid('json'))), 200);
  });
  app.openapi(deleteNode, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).deleteNode(c.get('principal'), node)), 200);
  });
}
