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

/** A page of a list: its items and, when more follow, the cursor of the next page. */
interface Paged {
  'next-cursor'?: string;
}

/** Every page of a list, following `next-cursor` from the first (`query` in each page's query string). */
async function* pages<P extends Paged>(get: (queryString: string) => Promise<P>, query: Record<string, string | undefined>): AsyncGenerator<P> {
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    if (cursor) params.set('cursor', cursor);
    const page = await get(params.toString());
    yield page;
    cursor = page['next-cursor'];
  } while (cursor);
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
    const get = async (qs: string) => (await this.send<ClusterList>('GET', `${this.root}/v1/clusters?${qs}`, `/v1/clusters?${qs}`)).body;
    for await (const page of pages(get, { limit: String(MAX_PAGE_LIMIT) })) out.push(...page.clusters);
    return out;
  }

  /** The pages of a list under this client's cluster. */
  private pagesOf<P extends Paged>(path: string, query: Record<string, string | undefined>): AsyncGenerator<P> {
    return pages((qs) => this.request<P>('GET', qs === '' ? path : `${path}?${qs}`), query);
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
    for await (const page of this.pagesOf<EndpointList>(path, { limit: String(MAX_PAGE_LIMIT), ...query })) out.push(...page.endpoints);
    return out;
  }

  /** The whole ipcache: the revision of the first page, and every entry across pages. */
  async ipcacheSnapshot(): Promise<{ revision: number; entries: IpcacheEntry[] }> {
    const entries: IpcacheEntry[] = [];
    let revision: number | undefined;
    for await (const page of this.pagesOf<Ipcache>('/ipcache', { limit: String(MAX_IPCACHE_PAGE) })) {
      revision ??= page.revision;
      entries.push(...page.entries);
    }
    return { revision: revision ?? 0, entries };
  }

  /** A node's policy snapshot: the policy of every identity it hosts, across pages, with the revision of the first. */
  async nodePolicySnapshot(node: string): Promise<{ revision: number; identities: NodeIdentityPolicy[] }> {
    const identities: NodeIdentityPolicy[] = [];
    let revision: number | undefined;
    for await (const page of this.pagesOf<NodePolicy>(`/nodes/${encodeURIComponent(node)}/policy`, { limit: String(MAX_NODE_POLICY_LIMIT) })) {
      revision ??= page.revision;
      identities.push(...page.identities);
    }
    return { revision: revision ?? 0, identities };
  }

  /** Every node, following `next-cursor`, with the revision of the first page. */
  async listNodes(): Promise<NodeList> {
    const nodes: NodeList['nodes'] = [];
    let revision: number | undefined;
    for await (const page of this.pagesOf<NodeList>('/nodes', {})) {
      revision ??= page.revision;
      nodes.push(...page.nodes);
    }
    return { revision: revision ?? 0, nodes };
  }

  async listIdentities(): Promise<Identity[]> {
    const out: Identity[] = [];
    for await (const page of this.pagesOf<IdentityList>('/identities', { limit: String(MAX_PAGE_LIMIT) })) out.push(...page.identities);
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
    for await (const page of this.pagesOf<PolicyList>(path, { limit: String(POLICY_PAGE_LIMIT) })) out.push(...page.items);
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
