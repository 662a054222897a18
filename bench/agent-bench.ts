// Issue 10's budgets for the node agent's own speed (`npm run bench -- agent`): feed events one
// agent applies per second (plan + map writes, memory and real BPF maps), a 100k-entry ipcache
// snapshot into an empty real BPF map, and the same snapshot reconciled again against the full
// map (a resync with the maps full: read back + diff, nothing to write). Each figure is wall
// time, with this process's CPU time beside it: on a shared box the gap between them is the
// waiting for a core, not the agent's work.
import type { IpcacheEntry } from '../src/api/identities.js';
import type { FeedEvent } from '../src/core/feed.js';
import type { MapBackend } from '../src/datapath/backends/backend.js';
import { MemoryBackend } from '../src/datapath/backends/memory.js';
import { NODE_MAPS } from '../src/datapath/maps.js';
import { applyMapOps, readMaps } from '../src/shim/agent/apply.js';
import { NodeView } from '../src/shim/agent/node-view.js';
import { planRevision } from '../src/shim/agent/plan.js';
import { reconcileWithSnapshot } from '../src/shim/agent/reconcile.js';
import { checkBudget } from './budgets.js';
import { bpfBackend, bpffsMount, syntheticIpcache } from './feed-bench.js';

const EVENTS_BUDGET = 200_000;
const SNAPSHOT_BUDGET_S = 0.3;
const ENTRIES = 100_000;

/** Runs `work`: its result, wall seconds and CPU seconds (user + system) of this process. */
function timed<T>(work: () => T): { result: T; wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = work();
  const wall = (performance.now() - t0) / 1000;
  const { user, system } = process.cpuUsage(cpu0);
  return { result, wall, cpu: (user + system) / 1e6 };
}

/** `n` ipcache upserts as the feed carries them. */
function upserts(n: number): FeedEvent[] {
  return syntheticIpcache(n).map((e) => ({ type: 'ipcache-upsert', prefix: e.prefix, identity: e.identity, 'host-ip': e['host-ip'], node: e.node, endpoint: e.endpoint }));
}

/** Applies the events as revisions of 100, as the agent applies the feed's batches. */
function applyInRevisions(backend: MapBackend, events: readonly FeedEvent[]): void {
  const view = new NodeView();
  for (let i = 0; i < events.length; i += 100) {
    const { ops, draft } = planRevision('node-0', view, events.slice(i, i + 100));
    applyMapOps(backend, ops);
    draft.commit();
  }
}

function applyRate(name: string, backend: MapBackend): void {
  const events = upserts(ENTRIES);
  const { wall, cpu } = timed(() => applyInRevisions(backend, events));
  const rate = events.length / wall;
  console.log(checkBudget({
    what: `events one agent applies (${name})`, measured: `${rate.toFixed(0)}/s`, budget: `≥ ${EVENTS_BUDGET.toLocaleString('en')}/s`,
    against: `the CPU time of the same work: ${(events.length / cpu).toFixed(0)}/s (100k ipcache upserts in revisions of 100)`, met: rate >= EVENTS_BUDGET,
  }));
}

/** `entries` reconciled into the backend's maps: the snapshot an agent resyncs with. */
function reconcileSnapshot(backend: MapBackend, entries: readonly IpcacheEntry[]): number {
  return applyMapOps(backend, reconcileWithSnapshot('node-0', readMaps(backend, NODE_MAPS), [], new NodeView(), { ipcache: entries, own: [] }));
}

function snapshotApply(backend: MapBackend): void {
  const entries = syntheticIpcache(ENTRIES);
  const reconcile = () => reconcileSnapshot(backend, entries);
  const first = timed(reconcile);
  const again = timed(reconcile);
  const check = (what: string, t: { wall: number; cpu: number }, how: string) => console.log(checkBudget({
    what, measured: `${t.wall.toFixed(2)} s`, budget: `≤ ${SNAPSHOT_BUDGET_S} s`, against: `the CPU time of the same work: ${t.cpu.toFixed(2)} s (${how})`, met: t.wall <= SNAPSHOT_BUDGET_S,
  }));
  check('100k ipcache snapshot into an empty BPF map', first, `${first.result} entries written`);
  check('100k snapshot reconciled with the full map', again, `read back + diff, ${again.result} ops`);
}

export async function agentBudgets(): Promise<void> {
  // A running agent's code is compiled: one pass of each measured path before the clock starts,
  // on other data and into memory (a feed of 10k events; a 10k snapshot into empty maps, then again).
  applyInRevisions(new MemoryBackend(), upserts(10_000));
  const warm = new MemoryBackend();
  for (let i = 0; i < 2; i++) reconcileSnapshot(warm, syntheticIpcache(10_000));
  applyRate('memory', new MemoryBackend());
  const mount = bpffsMount();
  if (typeof mount === 'string') {
    console.log(`(no real BPF map: ${mount}; the BPF figures are not measured)`);
    return;
  }
  try {
    const backend = await bpfBackend(mount.path);
    try {
      snapshotApply(backend);
      applyRate('BPF', backend);
    } finally {
      backend.close();
    }
  } finally {
    mount.unmount();
  }
}
