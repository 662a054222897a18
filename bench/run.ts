// `npm run bench`: the budgets of DESIGN.md §7 and issue 7 that this service covers, each beside
// the floor measured in the same run, on this machine. Sections (`npm run bench -- <section>…`
// runs only those, in that order):
//   http    sync endpoint creates vs a cheap DO read through `wrangler dev`, at 1 and 50 clients,
//           and the registry round trip that the isolate cache of known clusters keeps off that path;
//   object  identity allocations/s inside one DO vs raw single-insert SQLite transactions/s there;
//   feed    feed propagation: a create → the map write on 100 agents;
//   agent   issue 10, the node agent's own speed (bench/agent-bench.ts): events/s one agent applies
//           (memory and BPF maps), a 100k ipcache snapshot into an empty BPF map and reconciled
//           again against the full one (BPF figures as root);
//   propagation issue 10 (bench/propagation-bench.ts): commit → the last of 100 receive-only node
//           sockets (4 processes) holds a create's entry, and the create's round trip with and
//           without them, through wrangler's proxy and straight to workerd;
//   engine  the policy engine alone (bench/policy-engine.ts), in a fresh process as the Durable
//           Object starts: a cold build and a heap that holds only the engine;
//   policy  one object holding 1,000 policies, 16k identities and 100k endpoints (policy-load.ts):
//           identity add vs full recompute, policy puts, creates/s vs no policy, feed bytes of a
//           policy change, rows, SQLite bytes and workerd memory.
//   cni     issue 8, as root (bench/cni-bench.ts): CNI ADD latency through bridge + host-local +
//           idplane-cni on two nodes, with and without wait-for-nodes; pods/s at 10 parallel
//           ADDs; policy change → every affected policy map written; the plugin's start-up.
//   datapath issue 9, as root (bench/datapath-bench.ts): the reference datapath on real packets:
//           build, attach per pod, ADD → first allowed connection, policy PUT → enforced on the wire.
//   identities issue 10 (bench/identities-bench.ts): new identities/s through the API at 50 clients
//           vs Cilium's kvstore allocation protocol on a local etcd (the peer), same run.
//   breakdown issue 10 (bench/create-breakdown.ts): where one sync endpoint create's time goes,
//           per stage (worker, RPC, each SQL statement, policy, feed, the commit wait).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { clusterApi, putCluster } from '../test/e2e/support.js';
import { startWranglerDev, type WranglerDev } from '../test/e2e/wrangler-dev.js';
import { agentBudgets } from './agent-bench.js';
import { cniBench } from './cni-bench.js';
import { createBreakdown } from './create-breakdown.js';
import { createLoad, floorLoad, formatLoad, readLoad, registryLoad, runLoad, type LoadResult } from './http-load.js';
import { datapathBudgets } from './datapath-bench.js';
import { feedBudgets } from './feed-bench.js';
import { identitiesBench } from './identities-bench.js';
import { checkBudget, printBudgets } from './budgets.js';
import { describeMachine } from './machine.js';
import { policyLoadBudgets } from './policy-load.js';
import { propagationBudgets } from './propagation-bench.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function httpBudgets(): Promise<void> {
  const dev = await startWranglerDev();
  try {
    const cluster = 'bench';
    await putCluster(dev, cluster);
    const api = clusterApi(() => dev, cluster);
    const nodes = Array.from({ length: 40 }, (_, i) => `node-${i}`);
    for (const [i, n] of nodes.entries()) await api('PUT', `/nodes/${n}`, { ipv4: `192.168.0.${i + 1}` });
    const seq = { n: 0 };
    // Warm up both paths, then measure floor and creates back to back at each concurrency.
    await floorLoad(dev, cluster, 10, 2);
    await createLoad(dev, cluster, nodes, 10, 2, seq);
    const results: LoadResult[] = [];
    for (const c of [1, 50]) {
      results.push(await floorLoad(dev, cluster, c, SECONDS));
      results.push(await createLoad(dev, cluster, nodes, c, SECONDS, seq));
    }
    for (const c of [1, 50]) results.push(await readLoad(dev, cluster, nodes[0]!, c, SECONDS));
    const registry1 = await registryLoad(dev, cluster, 1, SECONDS);
    results.push(registry1);
    for (const r of results) console.log(formatLoad(r));
    const [floor1, create1, floor50, create50] = results as [LoadResult, LoadResult, LoadResult, LoadResult];
    const share50 = create50.rps / floor50.rps;
    const latency1 = create1.p50 / floor1.p50;
    console.log(checkBudget({
      what: 'sync creates/s at 50 clients', measured: `${create50.rps.toFixed(0)}/s = ${(100 * share50).toFixed(0)} % of the floor`, budget: '≥ 85 % of the floor',
      against: `the floor's ${floor50.rps.toFixed(0)}/s (GET /identities/1)`, met: share50 >= 0.85,
    }));
    console.log(checkBudget({
      what: 'sync create p50 at 1 client', measured: `${create1.p50.toFixed(1)} ms = ${latency1.toFixed(2)} × the floor`, budget: '≤ 1.3 × the floor',
      against: `the floor's ${floor1.p50.toFixed(1)} ms (autocannon's percentiles are whole ms)`, met: latency1 <= 1.3,
    }));
    console.log(`known-cluster check: served from the isolate cache on the floor and create paths; a registry lookup per request would add p50 ${registry1.p50.toFixed(1)} ms (${(registry1.p50 / floor1.p50).toFixed(2)} × the floor's p50) at 1 client`);
  } finally {
    await dev.stop();
  }
}

/** The one-commit floor: a request whose DO call writes one row (bench worker). */
function runLoadAt(dev: WranglerDev, path: string, connections: number): Promise<LoadResult> {
  return runLoad('GET /touch (one commit)', { url: `${dev.url}${path}`, connections, duration: SECONDS });
}

async function timed(dev: WranglerDev, path: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${dev.url}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.text();
  return performance.now() - t0;
}

async function inObjectBudgets(): Promise<void> {
  const dev = await startWranglerDev({ config: resolve(import.meta.dirname, 'wrangler.bench.toml') });
  try {
    const rtt = Math.min(...(await Promise.all([0, 1, 2].map(() => timed(dev, '/bench/noop?cluster=alloc')))));
    const n = 20000;
    await timed(dev, '/bench/prepare?cluster=alloc&n=2000&offset=1000000');
    await timed(dev, '/bench/allocate?cluster=alloc');
    await timed(dev, '/bench/raw-inserts?cluster=alloc&n=2000&offset=1000000');
    await timed(dev, `/bench/prepare?cluster=alloc&n=${n}&offset=0`);
    const alloc = (await timed(dev, '/bench/allocate?cluster=alloc')) - rtt;
    const raw = (await timed(dev, `/bench/raw-inserts?cluster=alloc&n=${n}&offset=0`)) - rtt;
    const allocRate = n / (alloc / 1000);
    const rawRate = n / (raw / 1000);
    const commitFloor = [];
    for (const c of [1, 50]) commitFloor.push(await runLoadAt(dev, '/bench/touch?cluster=touch', c));
    for (const r of commitFloor) console.log(formatLoad(r));
    console.log(checkBudget({
      what: 'identity allocations inside one DO', measured: `${allocRate.toFixed(0)}/s`, budget: '≥ 50,000/s',
      against: `raw single-insert transactions there: ${rawRate.toFixed(0)}/s (ratio ${(allocRate / rawRate).toFixed(2)})`, met: allocRate >= 50_000,
    }));
  } finally {
    await dev.stop();
  }
}

function policyEngineBudgets(): void {
  const run = spawnSync(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'policy-engine.ts')], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`bench/policy-engine.ts exited with ${run.status ?? run.signal}`);
}

const SECTIONS: Record<string, () => Promise<void> | void> = {
  http: httpBudgets,
  object: inObjectBudgets,
  feed: feedBudgets,
  agent: agentBudgets,
  propagation: propagationBudgets,
  engine: policyEngineBudgets,
  policy: () => policyLoadBudgets(SECONDS),
  cni: cniBench,
  datapath: datapathBudgets,
  identities: () => identitiesBench(SECONDS),
  breakdown: createBreakdown,
};
// `npm run bench -- policy engine` runs those sections only (in the order given); none: all.
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
console.log(`machine: ${describeMachine()}`);
for (const name of chosen.length > 0 ? chosen : Object.keys(SECTIONS)) await SECTIONS[name]!();
printBudgets(describeMachine());
