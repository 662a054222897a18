// HTTP client of the idplane API, shared by the CLI and the node agent. Errors carry the API's
// machine-readable code.
import type { Cluster, ClusterList } from '../api/clusters.js';
import type { Endpoint, EndpointList } from '../api/endpoints.js';
import type { Identity, IdentityList, Ipcache, IpcacheEntry } from '../api/identities.js';
import type { IdentityPolicy as NodeIdentityPolicy, NodePolicy } from '../api/node-policy.js';
import type { NodeList } from '../api/nodes.js';
import type { IdentityPolicy, PolicyAnswer, PolicyList, PolicyMutation, PolicyObject, PolicySelectors, TraceAnswer, TraceRequest } from '../api/policies.js';
import { MAX_IPCACHE_PAGE, MAX_NODE_POLICY_LIMIT, MAX_PAGE_LIMIT } from '../core/page-limits.js';

const DEFAULT_TIMEOUT_MS = 60_000;

export interface ClientConfig {
  url: string;
  token: string;
  cluster: string;
  /** A request that has not answered by then fails (a hung connection must not stall a caller); default 60 s, above a long-poll's wait. */
  timeoutMs?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** One stored policy: a CNP by namespace and name, a CCNP by name. */
export interface PolicyRef {
  kind: PolicyObject['kind'];
  namespace?: string;
  name: string;
}

/** Which policies a list asks for: one namespace's CNPs, every CNP, or the CCNPs. */
export type PolicyScope = { namespace: string } | 'all-namespaces' | 'clusterwide';

// The policy lists' largest page (POLICY-INTEGRATION.md).
const POLICY_PAGE_LIMIT = 1000;

export function policyPath(ref: PolicyRef): string {
  const name = encodeURIComponent(ref.name);
  if (ref.kind === 'CiliumClusterwideNetworkPolicy') return `/clusterwide-policies/${name}`;
  return `/policies/${encodeURIComponent(ref.namespace ?? 'default')}/${name}`;
}

export class ApiClient {
  /** The control plane's URL without a trailing slash, and the URL of this client's cluster. */
  readonly root: string;
  readonly base: string;

  constructor(readonly config: ClientConfig) {
    this.root = config.url.replace(/\/+$/, '');
    this.base = `${this.root}/v1/clusters/${encodeURIComponent(config.cluster)}`;
  }

  withToken(token: string): ApiClient {
    return new ApiClient({ ...this.config, token });
  }

  /** A request under this client's cluster. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return (await this.exchange<T>(method, path, body, signal)).body;
  }

  /** A request under this client's cluster, answered with its status (e.g. 201 created vs 200). */
  async exchange<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body: T }> {
    return this.send<T>(method, `${this.base}${path}`, path, body, signal);
  }

  /** Every cluster (admin token), following `next-cursor` across pages. */
  async listClusters(): Promise<Cluster[]> {
    const out: Cluster[] = [];
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ limit: String(MAX_PAGE_LIMIT) });
      if (cursor) params.set('cursor', cursor);
      const path = `/v1/clusters?${params}`;
      const { body: page } = await this.send<ClusterList>('GET', `${this.root}${path}`, path);
      out.push(...page.clusters);
      cursor = page['next-cursor'];
    } while (cursor);
    return out;
  }

  private async send<T>(method: string, url: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body: T }> {
    const timeout = AbortSignal.timeout(this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const res = await fetch(url, {
      method,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: { authorization: `Bearer ${this.config.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      // The API answers {"error": {code, message}}; anything else (a proxy's page) keeps its status.
      const err = parseJson<{ error?: { code?: string; message?: string } }>(text)?.error;
      throw new ApiError(res.status, err?.code ?? 'http-error', err?.message ?? `${method} ${path}: HTTP ${res.status}`);
    }
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  /** Every endpoint matching the query, following `next-cursor` across pages. */
  async listEndpoints(query: { namespace?: string; labels?: string } = {}): Promise<Endpoint[]> {
    return this.listEndpointPages('/endpoints', query);
  }

  /** One node's endpoints (a node token may list its own). */
  async listNodeEndpoints(node: string): Promise<Endpoint[]> {
    return this.listEndpointPages(`/nodes/${encodeURIComponent(node)}/endpoints`, {});
  }

  private async listEndpointPages(path: string, query: Record<string, string | undefined>): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ limit: String(MAX_PAGE_LIMIT) });
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
      if (cursor) params.set('cursor', cursor);
      const page = await this.request<EndpointList>('GET', `${path}?${params}`);
      out.push(...page.endpoints);
      cursor = page['next-cursor'];
    } while (cursor);
    return out;
  }

  /** The whole ipcache: the revision of the first page, and every entry across pages. */
  async ipcacheSnapshot(): Promise<{ revision: number; entries: IpcacheEntry[] }> {
    const entries: IpcacheEntry[] = [];
    let revision: number | undefined;
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ limit: String(MAX_IPCACHE_PAGE) });
      if (cursor) params.set('cursor', cursor);
      const page = await this.request<Ipcache>('GET', `/ipcache?${params}`);
      revision ??= page.revision;
      entries.push(...page.entries);
      cursor = page['next-cursor'];
    } while (cursor);
    return { revision: revision ?? 0, entries };
  }

  /** A node's policy snapshot: the policy of every identity it hosts, across pages, with the revision of the first. */
  async nodePolicySnapshot(node: string): Promise<{ revision: number; identities: NodeIdentityPolicy[] }> {
    const identities: NodeIdentityPolicy[] = [];
    let revision: number | undefined;
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ limit: String(MAX_NODE_POLICY_LIMIT) });
      if (cursor) params.set('cursor', cursor);
      const page = await this.request<NodePolicy>('GET', `/nodes/${encodeURIComponent(node)}/policy?${params}`);
      revision ??= page.revision;
      identities.push(...page.identities);
      cursor = page['next-cursor'];
    } while (cursor);
    return { revision: revision ?? 0, identities };
  }

  /** Every node, following `next-cursor`, with the revision of the first page. */
  async listNodes(): Promise<NodeList> {
    const first = await this.request<NodeList>('GET', '/nodes');
    const nodes = [...first.nodes];
    for (let cursor = first['next-cursor']; cursor; ) {
      const page = await this.request<NodeList>('GET', `/nodes?${new URLSearchParams({ cursor })}`);
      nodes.push(...page.nodes);
      cursor = page['next-cursor'];
    }
    return { revision: first.revision, nodes };
  }

  async listIdentities(): Promise<Identity[]> {
    const out: Identity[] = [];
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ limit: String(MAX_PAGE_LIMIT) });
      if (cursor) params.set('cursor', cursor);
      const page = await this.request<IdentityList>('GET', `/identities?${params}`);
      out.push(...page.identities);
      cursor = page['next-cursor'];
    } while (cursor);
    return out;
  }

  async getIdentity(id: number): Promise<Identity> {
    return this.request<Identity>('GET', `/identities/${id}`);
  }

  async getPolicy(ref: PolicyRef): Promise<PolicyAnswer> {
    return this.request<PolicyAnswer>('GET', policyPath(ref));
  }

  /** The stored policy, or null when there is none (404 `policy-not-found`). */
  async findPolicy(ref: PolicyRef): Promise<PolicyObject | null> {
    try {
      return (await this.getPolicy(ref)).policy;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'policy-not-found') return null;
      throw e;
    }
  }

  async putPolicy(ref: PolicyRef, document: unknown): Promise<PolicyMutation> {
    return this.request<PolicyMutation>('PUT', policyPath(ref), document);
  }

  async deletePolicy(ref: PolicyRef): Promise<PolicyMutation> {
    return this.request<PolicyMutation>('DELETE', policyPath(ref));
  }

  /** Every policy in the scope, following `next-cursor` across pages. */
  async listPolicies(scope: PolicyScope): Promise<PolicyObject[]> {
    const path =
      scope === 'clusterwide' ? '/clusterwide-policies' : scope === 'all-namespaces' ? '/policies' : `/policies/${encodeURIComponent(scope.namespace)}`;
    const out: PolicyObject[] = [];
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ limit: String(POLICY_PAGE_LIMIT) });
      if (cursor) params.set('cursor', cursor);
      const page = await this.request<PolicyList>('GET', `${path}?${params}`);
      out.push(...page.items);
      cursor = page['next-cursor'];
    } while (cursor);
    return out;
  }

  /** The entries an endpoint's `cilium_policy_v2_<id>` map must hold. */
  async endpointPolicy(node: string, ref: string): Promise<IdentityPolicy> {
    return this.request<IdentityPolicy>('GET', `/nodes/${encodeURIComponent(node)}/endpoints/${encodeURIComponent(ref)}/policy`);
  }

  /** Which identities each of a policy's selectors selects (at most `limit` identities each). */
  async policySelectors(ref: PolicyRef, limit: number): Promise<PolicySelectors> {
    return this.request<PolicySelectors>('GET', `${policyPath(ref)}/selectors?${new URLSearchParams({ limit: String(limit) })}`);
  }

  async tracePolicy(req: TraceRequest): Promise<TraceAnswer> {
    return this.request<TraceAnswer>('POST', '/policy/trace', req);
  }
}
