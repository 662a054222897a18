// A small in-memory fake of the policy API (POLICY-INTEGRATION.md "HTTP API") for CLI tests:
// policies with generation/revision semantics and paged lists, identities, one endpoint's policy
// a trace answer and the proposed selectors view. Pages hold at most two items, so clients must follow `next-cursor`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IdentityPolicy, PolicyObject, PolicySelectors, TraceAnswer } from '../../../src/api/policies.js';

export const TOKEN = 'admin-token';
const PAGE = 2;

export interface FakeApi {
  url: string;
  /** Stored policies by `<ns>/<name>` (CNP) or `<name>` (CCNP). */
  policies: Map<string, PolicyObject>;
  policyRevision(): number;
  /** Bodies POSTed to /policy/trace. */
  traces: unknown[];
  requests: string[];
  close(): Promise<void>;
}

export interface FakeData {
  identities: Map<number, string[]>;
  endpointPolicies: Map<string, IdentityPolicy>;
  trace: TraceAnswer;
  /** The proposed selectors view, by policy key, before `limit` is applied. */
  selectors: Map<string, PolicySelectors>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

export async function startFakeApi(data: FakeData): Promise<FakeApi> {
  const policies = new Map<string, PolicyObject>();
  const traces: unknown[] = [];
  const requests: string[] = [];
  let revision = 1;

  function list(res: ServerResponse, url: URL, keep: (p: PolicyObject) => boolean) {
    const all = [...policies.entries()].filter(([, p]) => keep(p)).sort(([a], [b]) => (a < b ? -1 : 1));
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const page = all.slice(start, start + PAGE).map(([, p]) => p);
    send(res, 200, { items: page, 'policy-revision': revision, ...(start + PAGE < all.length ? { 'next-cursor': String(start + PAGE) } : {}) });
  }

  async function policy(req: IncomingMessage, res: ServerResponse, key: string, kind: PolicyObject['kind'], namespace: string | undefined, name: string) {
    const stored = policies.get(key);
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!stored) return error(res, 404, 'policy-not-found', `policy ${key} not found`);
      if (req.method === 'DELETE') {
        policies.delete(key);
        revision++;
      }
      return send(res, 200, { policy: stored, 'policy-revision': revision, revision: 10 });
    }
    const body = JSON.parse(await readBody(req)) as Partial<PolicyObject>;
    if (body.kind !== kind) return error(res, 400, 'invalid-policy', `kind: must be ${kind}`);
    if (body.metadata?.name !== name) return error(res, 400, 'invalid-policy', 'metadata.name: must match the path');
    if (body.spec === undefined && body.specs === undefined) return error(res, 400, 'invalid-policy', 'spec: Required value');
    const content = (p: Partial<PolicyObject>) => JSON.stringify([p.metadata?.labels, p.metadata?.annotations, p.spec, p.specs]);
    if (stored && content(stored) === content(body)) return send(res, 200, { policy: stored, 'policy-revision': revision, revision: 10 });
    revision++;
    const object: PolicyObject = {
      apiVersion: 'cilium.io/v2',
      kind,
      metadata: {
        name,
        ...(namespace === undefined ? {} : { namespace }),
        creationTimestamp: stored?.metadata.creationTimestamp ?? new Date().toISOString(),
        generation: (stored?.metadata.generation ?? 0) + 1,
        resourceVersion: String(revision),
      },
      ...(body.spec === undefined ? {} : { spec: body.spec }),
      ...(body.specs === undefined ? {} : { specs: body.specs }),
    };
    policies.set(key, object);
    send(res, stored ? 200 : 201, { policy: object, 'policy-revision': revision, revision: 11 });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(res, 401, 'unauthorized', 'bad token');
    const m = /^\/v1\/clusters\/c(\/.*)$/.exec(url.pathname);
    const path = (m?.[1] ?? '').split('/').slice(1).map(decodeURIComponent);
    const [a, b, c, d, e] = path;
    if (a === 'policies' && path.length === 1) return list(res, url, (p) => p.kind === 'CiliumNetworkPolicy');
    if (a === 'policies' && path.length === 2) return list(res, url, (p) => p.kind === 'CiliumNetworkPolicy' && p.metadata.namespace === b);
    if (path.at(-1) === 'selectors' && ((a === 'policies' && path.length === 4) || (a === 'clusterwide-policies' && path.length === 3))) {
      const key = path.slice(1, -1).join('/');
      const view = policies.has(key) ? data.selectors.get(key) : undefined;
      if (!view) return error(res, 404, 'policy-not-found', `policy ${key} not found`);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      return send(res, 200, { ...view, selectors: view.selectors.map((sel) => ({ ...sel, identities: sel.identities.slice(0, limit) })) });
    }
    if (a === 'policies' && path.length === 3) return policy(req, res, `${b}/${c}`, 'CiliumNetworkPolicy', b, c!);
    if (a === 'clusterwide-policies' && path.length === 1) return list(res, url, (p) => p.kind === 'CiliumClusterwideNetworkPolicy');
    if (a === 'clusterwide-policies' && path.length === 2) return policy(req, res, b!, 'CiliumClusterwideNetworkPolicy', undefined, b!);
    if (a === 'identities' && path.length === 2) {
      const labels = data.identities.get(Number(b));
      if (!labels) return error(res, 404, 'identity-not-found', `identity ${b} not found`);
      return send(res, 200, { id: Number(b), labels, labelsSHA256: '', namespace: null, references: 1, 'created-at': null });
    }
    if (a === 'nodes' && c === 'endpoints' && e === 'policy') {
      const p = data.endpointPolicies.get(`${b}/${d}`);
      return p ? send(res, 200, p) : error(res, 404, 'endpoint-not-found', `endpoint ${d} not found on node ${b}`);
    }
    if (a === 'policy' && b === 'trace' && req.method === 'POST') {
      traces.push(JSON.parse(await readBody(req)));
      return send(res, 200, data.trace);
    }
    error(res, 404, 'not-found', `no route ${url.pathname}`);
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    policies,
    policyRevision: () => revision,
    traces,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
