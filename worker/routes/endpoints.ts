// /v1/clusters/{cluster}/nodes/{node}/endpoints/{ref} and the cluster-wide /endpoints list.
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam, EndpointParam, NodeParam, PageQuery } from '../../src/api/common.js';
import { Endpoint, EndpointChangeRequest, EndpointList, EndpointListQuery, LabelPatch } from '../../src/api/endpoints.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json, jsonBody } from './route-kit.js';

const path = '/v1/clusters/{cluster}/nodes/{node}/endpoints/{ref}';

const createEndpoint = createRoute({
  method: 'put',
  path,
  summary: 'Create an endpoint: allocate its identity, publish its addresses in the ipcache',
  request: { params: EndpointParam, body: jsonBody(EndpointChangeRequest) },
  responses: {
    201: json(Endpoint, 'Created, ready at the current policy revision'),
    200: json(Endpoint, 'The endpoint an identical earlier create made for this CNI attachment'),
    ...ERROR_RESPONSES,
  },
});

const getEndpoint = createRoute({
  method: 'get',
  path,
  summary: 'Get an endpoint by any of its IDs',
  request: { params: EndpointParam },
  responses: { 200: json(Endpoint, 'The endpoint'), ...ERROR_RESPONSES },
});

const patchLabels = createRoute({
  method: 'patch',
  path: `${path}/labels`,
  summary: "Change an endpoint's labels; it moves to the identity of its new set",
  request: { params: EndpointParam, body: jsonBody(LabelPatch) },
  responses: { 200: json(Endpoint, 'The relabelled endpoint'), ...ERROR_RESPONSES },
});

const regenerate = createRoute({
  method: 'post',
  path: `${path}/regenerate`,
  summary: "Recompute an endpoint's identity and policy with the current configuration",
  request: { params: EndpointParam },
  responses: { 200: json(Endpoint, 'The regenerated endpoint'), ...ERROR_RESPONSES },
});

const deleteEndpoint = createRoute({
  method: 'delete',
  path,
  summary: 'Delete an endpoint, releasing its identity and ipcache entries',
  request: { params: EndpointParam },
  responses: { 200: json(Endpoint, 'The deleted endpoint, disconnected'), ...ERROR_RESPONSES },
});

const listEndpoints = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/endpoints',
  summary: 'List endpoints cluster-wide, filtered and paginated',
  request: { params: ClusterParam, query: EndpointListQuery },
  responses: { 200: json(EndpointList, 'One page of endpoints'), ...ERROR_RESPONSES },
});

const listNodeEndpoints = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/nodes/{node}/endpoints',
  summary: "List one node's endpoints (a node token may list its own)",
  request: { params: NodeParam, query: PageQuery },
  responses: { 200: json(EndpointList, 'One page of endpoints'), ...ERROR_RESPONSES },
});

export function registerEndpointRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createEndpoint, async (c) => {
    const { cluster, node, ref } = c.req.valid('param');
    const out = unwrap(await clusterStub(c.env, cluster).createEndpoint(c.get('principal'), cluster, node, ref, c.req.valid('json')));
    return out.created ? c.json(out.endpoint, 201) : c.json(out.endpoint, 200);
  });
  app.openapi(getEndpoint, async (c) => {
    const { cluster, node, ref } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getEndpoint(c.get('principal'), node, ref)), 200);
  });
  app.openapi(patchLabels, async (c) => {
    const { cluster, node, ref } = c.req.valid('param');
    const body = c.req.valid('json');
    return c.json(unwrap(await clusterStub(c.env, cluster).patchEndpointLabels(c.get('principal'), node, ref, body.add ?? [], body.delete ?? [])), 200);
  });
  app.openapi(regenerate, async (c) => {
    const { cluster, node, ref } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).regenerateEndpoint(c.get('principal'), node, ref)), 200);
  });
  app.openapi(deleteEndpoint, async (c) => {
    const { cluster, node, ref } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).deleteEndpoint(c.get('principal'), node, ref)), 200);
  });
  app.openapi(listNodeEndpoints, async (c) => {
    const { cluster, node } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).listEndpoints(c.get('principal'), { ...c.req.valid('query'), node })), 200);
  });
  app.openapi(listEndpoints, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).listEndpoints(c.get('principal'), c.req.valid('query'))), 200);
  });
}
