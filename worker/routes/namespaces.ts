// /v1/clusters/{cluster}/namespaces: namespace labels, which the namespace's endpoints carry as
// `k8s:io.cilium.k8s.namespace.labels.<key>=<value>` (admin writes; any token reads).
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam, NamespaceParam, PageQuery } from '../../src/api/common.js';
import { Namespace, NamespaceList, NamespaceSpec } from '../../src/api/namespaces.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json, jsonBody } from './route-kit.js';

const path = '/v1/clusters/{cluster}/namespaces/{namespace}';

const putNamespace = createRoute({
  method: 'put',
  path,
  summary: "Set a namespace's labels; its endpoints move to identities with them (in batches)",
  request: { params: NamespaceParam, body: jsonBody(NamespaceSpec) },
  responses: { 200: json(Namespace, 'Updated'), 201: json(Namespace, 'Created'), ...ERROR_RESPONSES },
});

const getNamespace = createRoute({
  method: 'get',
  path,
  summary: 'Get a namespace',
  request: { params: NamespaceParam },
  responses: { 200: json(Namespace, 'The namespace'), ...ERROR_RESPONSES },
});

const listNamespaces = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/namespaces',
  summary: 'List namespaces',
  request: { params: ClusterParam, query: PageQuery },
  responses: { 200: json(NamespaceList, 'One page of namespaces'), ...ERROR_RESPONSES },
});

const deleteNamespace = createRoute({
  method: 'delete',
  path,
  summary: 'Delete a namespace; its endpoints lose its labels (in batches)',
  request: { params: NamespaceParam },
  responses: { 200: json(Namespace, 'The deleted namespace'), ...ERROR_RESPONSES },
});

export function registerNamespaceRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putNamespace, async (c) => {
    const { cluster, namespace } = c.req.valid('param');
    const out = unwrap(await clusterStub(c.env, cluster).putNamespace(c.get('principal'), namespace, c.req.valid('json')));
    return out.created ? c.json(out.namespace, 201) : c.json(out.namespace, 200);
  });
  app.openapi(getNamespace, async (c) => {
    const { cluster, namespace } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getNamespace(c.get('principal'), namespace)), 200);
  });
  app.openapi(listNamespaces, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).listNamespaces(c.get('principal'), c.req.valid('query'))), 200);
  });
  app.openapi(deleteNamespace, async (c) => {
    const { cluster, namespace } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).deleteNamespace(c.get('principal'), namespace)), 200);
  });
}
