// Helpers for tests inside workerd: authenticated requests through the whole worker (SELF),
// fresh clusters (storage is shared between the tests of one file) and state dumps.
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import type { ClusterDO } from '../../durable-objects/cluster-do.js';
import type { ClusterState } from '../../durable-objects/cluster-state.js';

export const ADMIN_TOKEN = 'test-admin-token';
const BASE = 'http://idplane.test';

let counter = 0;
/** A cluster name no other test uses. */
export function freshClusterName(prefix = 'c'): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A new cluster, put in the registry (every route of a cluster needs that first). */
export async function freshCluster(prefix = 'c', clusterId = 0): Promise<string> {
  const name = freshClusterName(prefix);
  const r = await call('PUT', `/v1/clusters/${name}`, { body: { 'cluster-id': clusterId } });
  if (r.status !== 201) throw new Error(`cluster ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return name;
}

export interface CallOptions {
  body?: unknown;
  rawBody?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, opts: CallOptions = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? ADMIN_TOKEN}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
  const res = await SELF.fetch(`${BASE}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** A cluster with the given nodes registered; returns helpers bound to it. */
export async function clusterWithNodes(nodes: string[] = ['node-1'], clusterId = 0) {
  const cluster = await freshCluster('c', clusterId);
  for (const [i, n] of nodes.entries()) {
    const r = await call('PUT', `/v1/clusters/${cluster}/nodes/${n}`, { body: { ipv4: `192.168.0.${i + 1}` } });
    if (r.status !== 201) throw new Error(`node ${n}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const base = `/v1/clusters/${cluster}`;
  return {
    cluster,
    base,
    createEndpoint: (node: string, ref: string, body: unknown) => call('PUT', `${base}/nodes/${node}/endpoints/${encodeURIComponent(ref)}`, { body }),
    getEndpoint: (node: string, ref: string) => call('GET', `${base}/nodes/${node}/endpoints/${encodeURIComponent(ref)}`),
    deleteEndpoint: (node: string, ref: string) => call('DELETE', `${base}/nodes/${node}/endpoints/${encodeURIComponent(ref)}`),
    identity: (id: number) => call('GET', `${base}/identities/${id}`),
  };
}

export function clusterStub(cluster: string) {
  return env.CLUSTER.getByName(cluster);
}

export function registryStub() {
  return env.REGISTRY.getByName('registry');
}

/** Every row of every table of one Durable Object, in a stable order. */
export async function dumpStorage(stub: DurableObjectStub): Promise<Record<string, unknown[]>> {
  return runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")
      .toArray()
      .map((r) => r.name);
    const dump: Record<string, unknown[]> = {};
    for (const t of tables) {
      const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${t}')`).toArray();
      const order = columns.map((_c, i) => i + 1).join(', ');
      dump[t] = sql.exec(`SELECT * FROM "${t}" ORDER BY ${order}`).toArray();
    }
    return dump;
  });
}

/**
 * What the cluster's policy engine (state derived in memory from the tables) answers: every
 * selector's selection, the stale identities, the prefixes policies name, and each identity's
 * computed policy.
 */
export function dumpPolicyEngine(cluster: string) {
  return runInDurableObject(clusterStub(cluster), (instance) => {
    const { state } = instance as unknown as { state: ClusterState };
    const ids = [...state.identities.allLabels().map((i) => i.id), ...state.policies.cidrIdentities().map((i) => i.id)];
    return {
      selections: state.engine.selections(),
      stale: state.engine.stale(),
      prefixes: state.engine.namedPrefixes(),
      policies: ids.map((id) => [id, state.engine.policyOf(id)]),
    };
  });
}

/**
 * Every row of every table of a cluster (policies, the policy revision in meta, CIDR identities
 * and each identity's policy revision included), and what its policy engine answers: compare
 * before/after to prove nothing changed.
 */
export async function dumpState(cluster: string): Promise<Record<string, unknown[]>> {
  return { ...(await dumpStorage(clusterStub(cluster))), 'policy engine (in memory)': [await dumpPolicyEngine(cluster)] };
}

export interface ManualClock {
  now(): number;
  advance(ms: number): void;
}

/**
 * Gives the cluster's Durable Object a clock that moves only when the test advances it. It starts
 * a year ahead of real time, so alarms it schedules never fire by themselves: the test runs them
 * (runDurableObjectAlarm) after moving the clock.
 */
export async function useManualClock(cluster: string, start = Date.now() + 365 * 24 * 3600 * 1000): Promise<ManualClock> {
  let t = start;
  const clock: ManualClock = { now: () => t, advance: (ms) => void (t += ms) };
  await runInDurableObject(clusterStub(cluster), (instance: ClusterDO) => {
    instance.clock = clock.now;
  });
  return clock;
}
