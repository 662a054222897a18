// Issue 8's "Measure and report" (`npm run bench -- cni`), as root: a real `wrangler dev`, two
// idplane-agent processes (two nodes, each its own bpffs mount) and pods as network namespaces
// attached through bridge + host-local + idplane-cni as libcni runs them (test/e2e/cni-cluster.ts).
// Prints, beside Cilium's reference figures: CNI ADD → return p50/p99 of the whole chain and of
// idplane-cni alone, without and with `wait-for-nodes`; pods/s at 10 parallel ADDs; policy
// change → every affected policy map written (Cilium's `policy_implementation_delay`); and the
// plugin's start-up alone (VERSION) with hyperfine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Attachment, Conflist } from '../test/e2e/cni-chain.js';
import { CniCluster, CNI_PLUGIN, cniUnavailableReason, endpointRef, NODE_NAMES, type PodSpec } from '../test/e2e/cni-cluster.js';
import { unixSocketRequest } from '../test/e2e/support.js';
import { percentile } from './feed-bench.js';

const SERIES_PODS = 50;
const PARALLEL_PODS = 100;
const PARALLEL = 10;
const POLICY_ROUNDS = 30;
/** The series' pods: the policy's servers and clients among others. */
const SERIES_APPS = ['server', 'client', 'web', 'api', 'db'];
/** Pods up during the policy rounds; the first half carry the label the policy selects. */
const RESIDENT_PODS = 8;
/** Cilium's figures quoted by issue 8 (the limiter's defaults in daemon/cmd/api_limits.go), printed beside ours. */
const CILIUM = {
  createApi: "Cilium's agent (per node): endpoint-create API limiter starting at 0.5/s, burst 4, est. 2 s processing per create (auto-adjusted from there)",
  podStartup: "Cilium's pod-startup threshold ≤ 5 s",
  policyDelay: "Cilium's policy_implementation_delay CI threshold p99 ≤ 100 ms",
};

const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms`;
};

/** The server pods take TCP `port` from the clients; the rounds alternate 80 and 8080. */
const serverPolicy = (port: number) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'servers' },
  spec: { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: String(port), protocol: 'TCP' }] }] }] },
});

interface Pod {
  spec: PodSpec;
  at: Attachment;
  list: Conflist;
  result?: unknown;
}

class PodBench {
  private next = 0;
  constructor(private readonly c: CniCluster) {}

  /** Sandboxes of `n` pods over both nodes, with idplane-cni's `wait-for-nodes` as given. */
  sandboxes(n: number, waitForNodes: boolean, app: (k: number) => string): Pod[] {
    return Array.from({ length: n }, (_, k) => {
      const i = this.next++;
      const spec = { ns: 'default', pod: `bench-${i}`, node: NODE_NAMES[k % 2]!, labels: { app: app(k) } };
      const { at, list } = this.c.sandbox(spec, i);
      return { spec, at, list: { ...list, plugins: [list.plugins[0]!, { ...list.plugins[1]!, 'wait-for-nodes': waitForNodes }] } };
    });
  }

  /** ADD: the chain's wall time and idplane-cni's own (`ms` of its run). */
  async add(pod: Pod): Promise<{ chain: number; plugin: number }> {
    const t0 = performance.now();
    const { result, runs } = await this.c.runtime.add(pod.at, pod.list);
    pod.result = result;
    return { chain: performance.now() - t0, plugin: runs[1]!.ms };
  }

  /** DEL (the endpoint, its entries and maps go) and the sandbox's namespace. */
  async remove(pod: Pod): Promise<void> {
    await this.c.runtime.del(pod.at, pod.list, pod.result);
    this.c.deleteNetns(pod.at);
  }
}

async function series(bench: PodBench, waitForNodes: boolean): Promise<void> {
  const pods = bench.sandboxes(SERIES_PODS, waitForNodes, (k) => SERIES_APPS[k % SERIES_APPS.length]!);
  const chain: number[] = [];
  const plugin: number[] = [];
  for (const pod of pods) {
    const t = await bench.add(pod);
    chain.push(t.chain);
    plugin.push(t.plugin);
  }
  const label = waitForNodes ? 'with wait-for-nodes (2 nodes)' : 'without wait-for-nodes';
  console.log(`  CNI ADD → return, ${SERIES_PODS} pods one after another, ${label}: whole chain ${summary(chain)}; idplane-cni alone ${summary(plugin)}`);
  for (const pod of pods) await bench.remove(pod);
}

/** `work` over `items`, `parallel` at a time. */
async function inParallel<T>(items: T[], parallel: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function throughput(bench: PodBench): Promise<void> {
  const pods = bench.sandboxes(PARALLEL_PODS, false, (k) => SERIES_APPS[k % SERIES_APPS.length]!);
  const t0 = performance.now();
  await inParallel(pods, PARALLEL, (pod) => bench.add(pod));
  const s = (performance.now() - t0) / 1000;
  const rate = PARALLEL_PODS / s;
  console.log(`  ${PARALLEL_PODS} pods, ${PARALLEL} ADDs in parallel (without wait-for-nodes): ${rate.toFixed(1)} pods/s over 2 nodes, ${(rate / 2).toFixed(1)}/s per node (${s.toFixed(1)} s); beside: Cilium's limiter's 0.5/s per node, burst 4`);
  await inParallel(pods, PARALLEL, (pod) => bench.remove(pod));
}

/** Until every node's agent has applied `revision`: its local API's healthz, asked back to back. */
async function appliedEverywhere(c: CniCluster, revision: number): Promise<void> {
  await Promise.all(Object.values(c.nodes).map(async (d) => {
    while ((await unixSocketRequest(d.socket, 'GET', '/v1/healthz')).body['applied-revision'] < revision);
  }));
}

async function policyRounds(c: CniCluster, bench: PodBench): Promise<void> {
  const pods = bench.sandboxes(RESIDENT_PODS, false, (k) => (k < RESIDENT_PODS / 2 ? 'server' : 'client'));
  for (const pod of pods) await bench.add(pod);
  const servers = await Promise.all(pods.filter((p) => p.spec.labels.app === 'server').map(async (p) => {
    const ref = endpointRef(p.at);
    return { node: p.spec.node, ref, id: (await c.api('GET', `/nodes/${p.spec.node}/endpoints/${ref}`)).id as number };
  }));
  const mapsNow = () => servers.map((s) => JSON.stringify(c.policyMapOf(s.node, s.id)));
  const answered: number[] = [];
  const written: number[] = [];
  let before = mapsNow();
  for (let round = 1; round <= POLICY_ROUNDS; round++) {
    const t0 = performance.now();
    const { revision } = (await c.api('PUT', '/policies/default/servers', serverPolicy(round % 2 === 1 ? 8080 : 80))) as { revision: number };
    answered.push(performance.now() - t0);
    await appliedEverywhere(c, revision);
    written.push(performance.now() - t0);
    // Outside the timing: bpftool finds every server's map changed and equal to its policy.
    const after = mapsNow();
    for (const [k, s] of servers.entries()) {
      const want = JSON.stringify(await c.wantedPolicyMap(s.node, s.ref));
      if (after[k] === before[k] || after[k] !== want) throw new Error(`round ${round}: ${s.ref}'s policy map on ${s.node} is not the new policy's at revision ${revision}`);
    }
    before = after;
  }
  console.log(`  policy change → every affected policy map written (${servers.length} maps on 2 nodes, ${POLICY_ROUNDS} PUTs alternating two versions, each checked with bpftool): ${summary(written)} (PUT answered ${summary(answered)}); beside: ${CILIUM.policyDelay}`);
  for (const pod of pods) await bench.remove(pod);
}

/** The plugin's start-up alone: VERSION with an empty configuration, beside Node's own start. */
function pluginStartup(): void {
  if (spawnSync('hyperfine', ['--version']).error) {
    console.log('  idplane-cni start-up: skipped: hyperfine is not installed (apt-get install hyperfine)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-hyperfine-'));
  const out = join(dir, 'results.json');
  const run = spawnSync('hyperfine', ['-N', '--warmup', '5', '--runs', '50', '--style', 'none', '--export-json', out,
    '-n', 'idplane-cni VERSION', `${process.execPath} ${CNI_PLUGIN}`, '-n', 'node -e 0', `${process.execPath} -e 0`], { env: { ...process.env, CNI_COMMAND: 'VERSION' } });
  if (run.status !== 0) throw new Error(`hyperfine: ${run.stderr.toString()}`);
  const text = readFileSync(out, 'utf8');
  rmSync(dir, { recursive: true });
  const results = (JSON.parse(text) as { results: { command: string; mean: number; stddev: number; median: number }[] }).results;
  const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
  console.log(`  start-up (hyperfine, 50 runs): ${results.map((r) => `${r.command} median ${ms(r.median)} (mean ${ms(r.mean)} ± ${ms(r.stddev)})`).join('; ')}`);
}

export async function cniBench(): Promise<void> {
  const reason = cniUnavailableReason();
  if (reason) {
    console.log(`cni: skipped: ${reason}`);
    return;
  }
  // The bundles measured are those of this tree.
  const build = spawnSync(process.execPath, [resolve(import.meta.dirname, '../scripts/build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('scripts/build.mjs failed');
  console.log(`cni: idplane-cni chained after bridge + host-local, pods as network namespaces on 2 nodes (2 agent processes, real BPF maps), one wrangler dev`);
  pluginStartup();
  const c = new CniCluster('bench-cni', { 'timeout-seconds': 30 });
  try {
    await c.start();
    await c.api('PUT', '/policies/default/servers', serverPolicy(80));
    const bench = new PodBench(c);
    await series(bench, false);
    await series(bench, true);
    console.log(`  beside: ${CILIUM.createApi}; ${CILIUM.podStartup}`);
    await throughput(bench);
    await policyRounds(c, bench);
  } finally {
    await c.stop();
  }
}
