// Benchmark-only worker: ClusterDO plus methods that run many operations inside one RPC, so the
// cost measured is the Durable Object's own (SQLite + domain code), not the HTTP round trip.
// Deployed only by bench/wrangler.bench.toml; never part of the product.
import { ClusterDO } from '../durable-objects/cluster-do.js';
import { acquireIdentity } from '../durable-objects/ops/allocation.js';
import { createEndpoint } from '../durable-objects/ops/endpoints.js';
import { putNode } from '../durable-objects/ops/nodes.js';
import { composeEndpointLabels } from '../src/core/endpoint-labels.js';
import type { LabelSet } from '../src/core/labels.js';

interface BenchEnv {
  CLUSTER: DurableObjectNamespace<BenchClusterDO>;
}

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

  /** One transaction as the object runs them: inside a policy-engine unit that undoes with it. */
  private transaction<T>(op: () => T): T {
    return this.state.inPolicyUnit(() => this.ctx.storage.transactionSync(op));
  }

  /** Builds `n` new endpoint label sets (parsed and validated), for allocatePrepared. */
  async prepareLabelSets(n: number, offset: number): Promise<number> {
    this.prepared = Array.from({ length: n }, (_, i) =>
      composeEndpointLabels({ labels: [`k8s:app=bench-${offset + i}`, 'k8s:pod-template-hash=x'], namespace: 'bench', cluster: 'bench' }),
    );
    return n;
  }

  /** One new identity per prepared set, one transaction each: label filter, hash, number, insert. */
  async allocatePrepared(): Promise<number> {
    for (const labels of this.prepared) this.transaction(() => acquireIdentity(this.state, labels, Date.now(), null));
    return this.prepared.length;
  }

  /** `n` single-row INSERT transactions: the SQLite floor in this same object. */
  async rawInserts(n: number, offset: number): Promise<number> {
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    for (let i = 0; i < n; i++) this.ctx.storage.transactionSync(() => sql.exec('INSERT INTO bench_raw (id, v) VALUES (?, ?)', offset + i, 'x'));
    return n;
  }

  /** Creates `count` endpoints over `identities` label sets, 250 per node (a large node). */
  async fillEndpoints(count: number, identities: number, offset: number): Promise<number> {
    const perNode = 250;
    for (let i = offset; i < offset + count; i++) {
      const node = `fill-${Math.floor(i / perNode)}`;
      if (i % perNode === 0) this.transaction(() => putNode(this.state, node, { ipv4: `172.16.${Math.floor(i / perNode) >> 8}.${Math.floor(i / perNode) & 255}` }, Date.now()));
      const req = {
        labels: [`k8s:app=svc-${i % identities}`, `k8s:pod-template-hash=h${i}`],
        'k8s-namespace': 'fill',
        'k8s-pod-name': `pod-${i}`,
        addressing: { ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      };
      this.transaction(() => createEndpoint(this.state, 'bench', node, 'cilium-local:0', req, Date.now(), null));
    }
    return count;
  }
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '0');
    const offset = Number(url.searchParams.get('offset') ?? '0');
    const stub = env.CLUSTER.getByName(url.searchParams.get('cluster') ?? 'bench');
    switch (url.pathname) {
      case '/healthz':
        return new Response('ok');
      case '/noop':
        return Response.json(await stub.noop());
      case '/touch':
        return Response.json(await stub.touch());
      case '/prepare':
        return Response.json(await stub.prepareLabelSets(n, offset));
      case '/allocate':
        return Response.json(await stub.allocatePrepared());
      case '/raw-inserts':
        return Response.json(await stub.rawInserts(n, offset));
      case '/fill':
        return Response.json(await stub.fillEndpoints(n, Number(url.searchParams.get('identities') ?? '16000'), offset));
      default:
        return new Response('not found', { status: 404 });
    }
  },
};
