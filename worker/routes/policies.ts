// /v1/clusters/{cluster}/policies, /clusterwide-policies, computed policy and traces. Policy bodies
// are YAML or JSON text (up to 1 MiB, their own body limit): parsed and sanitised here, in the
// worker, so the Durable Object only sees valid rule models.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ClusterParam } from '../../src/api/common.js';
import {
  CcnpParam,
  CnpParam,
  EndpointPolicyParam,
  IdentityPolicy,
  IdentityPolicyParam,
  NamespaceParam,
  PolicyAnswer,
  PolicyList,
  PolicyListQuery,
  PolicyMutation,
  PolicySelectors,
  PolicySelectorsQuery,
  TraceAnswer,
  TraceRequest,
} from '../../src/api/policies.js';
import { parsePolicyBody } from '../../src/core/policy/parse.js';
import type { PolicyKind } from '../../src/core/policy/rule.js';
import { sanitizePolicy, type PolicyTarget } from '../../src/core/policy/sanitize.js';
import { pruneNulls } from '../../src/core/policy/schema-validate.js';
import type { PolicyInput } from '../../durable-objects/ops/policies.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json, jsonBody } from './route-kit.js';

const CNP: PolicyKind = 'CiliumNetworkPolicy';
const CCNP: PolicyKind = 'CiliumClusterwideNetworkPolicy';

const policyBody = {
  required: true,
  description: 'The policy object as `kubectl apply` sends it, YAML (content-type: application/yaml) or JSON, up to 1 MiB',
  content: { 'application/yaml': { schema: z.string() }, 'application/json': { schema: z.record(z.string(), z.unknown()) } },
} as const;

const SELECTORS_DESCRIPTION =
  "Each selector of the policy (rule subjects and peers, once each), sorted by selector key, with the lowest `limit` identities it selects (ascending) and how many it selects. A peer no identity's policy uses yet is not in the SelectorCache: it is shown with what it would select.";

function routes<P extends typeof CnpParam | typeof CcnpParam>(base: string, params: P, what: PolicyKind) {
  return {
    // The body is read as text by the handler (YAML or JSON): not declared for validation.
    put: createRoute({
      method: 'put',
      path: base,
      summary: `Create or replace a ${what}; an identical PUT changes nothing (admin)`,
      description: policyBody.description,
      request: { params },
      responses: { 200: json(PolicyMutation, 'Replaced, or identical'), 201: json(PolicyMutation, 'Created'), ...ERROR_RESPONSES },
    }),
    get: createRoute({ method: 'get', path: base, summary: `Get a ${what}`, request: { params }, responses: { 200: json(PolicyAnswer, 'The policy'), ...ERROR_RESPONSES } }),
    selectors: createRoute({
      method: 'get',
      path: `${base}/selectors`,
      summary: `Which identities each selector of a ${what} selects`,
      description: SELECTORS_DESCRIPTION,
      request: { params, query: PolicySelectorsQuery },
      responses: { 200: json(PolicySelectors, 'Each selector, by key, with the identities it selects'), ...ERROR_RESPONSES },
    }),
    delete: createRoute({
      method: 'delete',
      path: base,
      summary: `Delete a ${what} (admin)`,
      request: { params },
      responses: { 200: json(PolicyMutation, 'The deleted policy'), ...ERROR_RESPONSES },
    }),
  };
}

const listAll = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/policies',
  summary: 'List CiliumNetworkPolicies of every namespace',
  request: { params: ClusterParam, query: PolicyListQuery },
  responses: { 200: json(PolicyList, 'One page'), ...ERROR_RESPONSES },
});

const listNamespace = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/policies/{namespace}',
  summary: 'List the CiliumNetworkPolicies of one namespace',
  request: { params: NamespaceParam, query: PolicyListQuery },
  responses: { 200: json(PolicyList, 'One page'), ...ERROR_RESPONSES },
});

const listClusterwide = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/clusterwide-policies',
  summary: 'List CiliumClusterwideNetworkPolicies',
  request: { params: ClusterParam, query: PolicyListQuery },
  responses: { 200: json(PolicyList, 'One page'), ...ERROR_RESPONSES },
});

const identityPolicy = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/identities/{nid}/policy',
  summary: "An identity's computed policy: every entry of its endpoints' cilium_policy_v2 map",
  request: { params: IdentityPolicyParam },
  responses: { 200: json(IdentityPolicy, 'The entries, sorted by key bytes'), ...ERROR_RESPONSES },
});

const endpointPolicy = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/nodes/{node}/endpoints/{ref}/policy',
  summary: "An endpoint's computed policy (its identity's)",
  request: { params: EndpointPolicyParam },
  responses: { 200: json(IdentityPolicy, 'The entries, sorted by key bytes'), ...ERROR_RESPONSES },
});

const tracePolicy = createRoute({
  method: 'post',
  path: '/v1/clusters/{cluster}/policy/trace',
  summary: 'The verdict a new connection gets: the source egress and the destination ingress',
  request: { params: ClusterParam, body: jsonBody(TraceRequest) },
  responses: { 200: json(TraceAnswer, 'The verdict with the deciding entries'), ...ERROR_RESPONSES },
});

/** Parses and sanitises a PUT body for `target`; throws invalid-policy / unsupported-policy-field. */
async function readPolicy(c: Context<AppEnv>, target: PolicyTarget): Promise<PolicyInput> {
  // Decoded here: the runtime warns when .text() reads a body whose type is not text (YAML).
  const raw = parsePolicyBody(new TextDecoder().decode(await c.req.arrayBuffer()), c.req.header('content-type'));
  const { policy, metadata } = sanitizePolicy(raw, target);
  const pruned = pruneNulls(raw) as { spec?: Record<string, unknown>; specs?: Record<string, unknown>[] };
  return { document: policy, metadata, ...(pruned.spec === undefined ? {} : { spec: pruned.spec }), ...(pruned.specs === undefined ? {} : { specs: pruned.specs }) };
}

export function registerPolicyRoutes(app: OpenAPIHono<AppEnv>): void {
  const cnp = routes('/v1/clusters/{cluster}/policies/{namespace}/{name}', CnpParam, CNP);
  const ccnp = routes('/v1/clusters/{cluster}/clusterwide-policies/{name}', CcnpParam, CCNP);
  app.openapi(listAll, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).listPolicies(c.get('principal'), CNP, c.req.valid('query'))), 200);
  });
  app.openapi(listNamespace, async (c) => {
    const { cluster, namespace } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).listPolicies(c.get('principal'), CNP, { ...c.req.valid('query'), namespace })), 200);
  });
  app.openapi(listClusterwide, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).listPolicies(c.get('principal'), CCNP, c.req.valid('query'))), 200);
  });
  app.openapi(cnp.put, async (c) => {
    const { cluster, namespace, name } = c.req.valid('param');
    const input = await readPolicy(c, { kind: CNP as 'CiliumNetworkPolicy', namespace, name });
    const { created, ...out } = unwrap(await clusterStub(c.env, cluster).putPolicy(c.get('principal'), input)) as { created: boolean } & PolicyMutation;
    return c.json(out, created ? 201 : 200);
  });
  app.openapi(ccnp.put, async (c) => {
    const { cluster, name } = c.req.valid('param');
    const input = await readPolicy(c, { kind: CCNP as 'CiliumClusterwideNetworkPolicy', namespace: null, name });
    const { created, ...out } = unwrap(await clusterStub(c.env, cluster).putPolicy(c.get('principal'), input)) as { created: boolean } & PolicyMutation;
    return c.json(out, created ? 201 : 200);
  });
  app.openapi(cnp.get, async (c) => {
    const { cluster, namespace, name } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getPolicy(c.get('principal'), CNP, namespace, name)), 200);
  });
  app.openapi(ccnp.get, async (c) => {
    const { cluster, name } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getPolicy(c.get('principal'), CCNP, null, name)), 200);
  });
  app.openapi(cnp.delete, async (c) => {
    const { cluster, namespace, name } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).deletePolicy(c.get('principal'), CNP, namespace, name)), 200);
  });
  app.openapi(ccnp.delete, async (c) => {
    const { cluster, name } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).deletePolicy(c.get('principal'), CCNP, null, name)), 200);
  });
  app.openapi(cnp.selectors, async (c) => {
    const { cluster, namespace, name } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getPolicySelectors(c.get('principal'), CNP, namespace, name, c.req.valid('query'))), 200);
  });
  app.openapi(ccnp.selectors, async (c) => {
    const { cluster, name } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getPolicySelectors(c.get('principal'), CCNP, null, name, c.req.valid('query'))), 200);
  });
  app.openapi(identityPolicy, async (c) => {
    const { cluster, nid } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getIdentityPolicy(c.get('principal'), Number(nid))), 200);
  });
  app.openapi(endpointPolicy, async (c) => {
    const { cluster, node, ref } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).getEndpointPolicy(c.get('principal'), node, ref)), 200);
  });
  app.openapi(tracePolicy, async (c) => {
    const { cluster } = c.req.valid('param');
    return c.json(unwrap(await clusterStub(c.env, cluster).tracePolicy(c.get('principal'), c.req.valid('json'))), 200);
  });
}
