// Benchmark-only worker: the product's HTTP app and RegistryDO, with ClusterDO extended by
// methods that run many operations inside one RPC (under /bench/…), so the cost measured is the
// Durable Object's own (SQLite + domain code), not the HTTP round trip; everything else is the
// product's API over the same objects. Deployed only by bench/wrangler.bench.toml.
import { ClusterDO } from '../durable-objects/cluster-do.js';
import { ClusterState } from '../durable-objects/cluster-state.js';
import { acquireIdentity } from '../durable-objects/ops/allocation.js';
import { createEndpoint } from '../durable-objects/ops/endpoints.js';
import { putNode } from '../durable-objects/ops/nodes.js';
import { composeEndpointLabels } from '../src/core/endpoint-labels.js';
import type { LabelSet } from '../src/core/labels.js';
import { createApp } from '../worker/app.js';
import { endpointRequest, ENDPOINTS_PER_NODE, newVersionPod, nodeIpv4, nodeName, nodeOfEndpoint, type StorageSize } from './policy-cluster.js';

export { RegistryDO } from '../durable-objects/registry-do.js';

type BenchEnv = Omit<Env, 'CLUSTER'> & { CLUSTER: DurableObjectNamespace<BenchClusterDO> };

export class BenchClusterDO extends ClusterDO {
  /** No work: the RPC round trip the other figures are measured against. */
  async noop(): Promise<number> {
    return 0;
  }

  /** One single-row write: the floor of a request that commits to SQLite. */
  async touch(): Promise<number> {
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS bench_touch (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    sql.exec('INSERT INTO bench_touch (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1');
    return 1;
  }

  private prepared: LabelSet[] = [];

  /** Builds `n` label sets of new identities in namespace `namespace` (parsed and validated), for allocatePrepared. */
  async prepareLabelSets(n: number, offset: number, namespace: number): Promise<number> {
    this.prepared = Array.from({ length: n }, (_, i) => {
      const pod = newVersionPod(namespace, offset + i);
      return composeEndpointLabels({ labels: [...pod.labels, 'k8s:pod-template-hash=x'], namespace: pod.namespace, cluster: this.ctx.id.name ?? '' });
    });
    return n;
  }

  /** One new identity per prepared set, one transaction each: label filter, hash, number, insert, its policy. */
  async allocatePrepared(): Promise<number> {
    for (const labels of this.prepared) this.transact((now) => acquireIdentity(this.state, labels, now, null));
    return this.prepared.length;
  }

  /** `n` single-row INSERT transactions: the SQLite floor in this same object. */
  async rawInserts(n: number, offset: number): Promise<number> {
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    for (let i = 0; i < n; i++) this.ctx.storage.transactionSync(() => sql.exec('INSERT INTO bench_raw (id, v) VALUES (?, ?)', offset + i, 'x'));
    return n;
  }

  /** Creates endpoints offset … offset+count-1 of the bench cluster (policy-cluster.ts), one transaction each. */
  async fillEndpoints(count: number, offset: number): Promise<number> {
    for (let i = offset; i < offset + count; i++) {
      const k = nodeOfEndpoint(i);
      if (i % ENDPOINTS_PER_NODE === 0) this.transact((now) => putNode(this.state, nodeName(k), { ipv4: nodeIpv4(k) }, now));
      this.transact((now) => createEndpoint(this.state, this.ctx.id.name ?? '', nodeName(k), 'cilium-local:0', endpointRequest(i), now, null));
    }
    return count;
  }

  /** The full recompute: the object's policy state rebuilt from SQLite, as at start; its identity count. */
  async rebuildState(): Promise<number> {
    return new ClusterState(this.ctx.storage.sql, this.ctx.id.name ?? '').identities.allLabels().length;
  }

  /** Identities whose policy still waits for its recompute, and the cluster revision. */
  async policyProgress(): Promise<{ stale: number; revision: number }> {
    return { stale: this.state.identities.policyStale(0, Number.MAX_SAFE_INTEGER).length, revision: this.state.revision() };
  }

  /** A new token for node `fill-k` (its feed is read as the node reads it). */
  async nodeToken(k: number): Promise<string> {
    const { node } = this.transact((now) => putNode(this.state, nodeName(k), { ipv4: nodeIpv4(k), 'rotate-token': true }, now));
    if (node.token === undefined) throw new Error(`no token issued for ${nodeName(k)}`);
    return node.token;
  }

  async storageSize(): Promise<StorageSize> {
    const sql = this.ctx.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray();
    const rows: Record<string, number> = {};
    for (const { name } of tables) {
      const n = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`).one().n;
      if (n > 0) rows[name] = n;
    }
    return { rows, bytes: sql.databaseSize };
  }
}

const app = createApp();

/** `/bench/<method>?cluster=…&n=…&offset=…`: one RPC of the bench object, answered as JSON. */
async function benchRpc(url: URL, env: BenchEnv): Promise<unknown> {
  const param = (name: string) => Number(url.searchParams.get(name) ?? '0');
  const stub = env.CLUSTER.getByName(url.searchParams.get('cluster') ?? 'bench');
  switch (url.pathname) {
    case '/bench/noop': return stub.noop();
    case '/bench/touch': return stub.touch();
    case '/bench/prepare': return stub.prepareLabelSets(param('n'), param('offset'), param('namespace'));
    case '/bench/allocate': return stub.allocatePrepared();
    case '/bench/raw-inserts': return stub.rawInserts(param('n'), param('offset'));
    case '/bench/fill': return stub.fillEndpoints(param('n'), param('offset'));
    case '/bench/rebuild': return stub.rebuildState();
    case '/bench/policy-progress': return stub.policyProgress();
    case '/bench/node-token': return stub.nodeToken(param('node'));
    case '/bench/storage': return stub.storageSize();
    default: return undefined;
  }
}

export default {
  async fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith('/bench/')) return app.fetch(request, env, ctx);
    const answer = await benchRpc(url, env);
    return answer === undefined ? new Response('not found', { status: 404 }) : Response.json(answer);
  },
};
