// Issue 10's budgets for the node agent's own speed (`npm run bench -- agent`): feed events one
// agent applies per second (plan + map writes, memory and real BPF maps), a 100k-entry ipcache
// snapshot into an empty real BPF map, and the same snapshot reconciled again against the full
// map (a restart's resync: read back + diff, nothing to write).
import type { FeedEvent } from '../src/core/feed.js';
import type { MapBackend } from '../src/datapath/backends/backend.js';
import { MemoryBackend } from '../src/datapath/backends/memory.js';
import { NODE_MAPS } from '../src/datapath/maps.js';
import { applyMapOps, readMaps } from '../src/shim/agent/apply.js';
import { NodeView } from '../src/shim/agent/node-view.js';
import { planRevision } from '../src/shim/agent/plan.js';
import { reconcileWithSnapshot } from '../src/shim/agent/reconcile.js';
import { bpfBackend, bpffsMount, syntheticIpcache } from './feed-bench.js';

const EVENTS_BUDGET = 200_000;
const SNAPSHOT_BUDGET_S = 0.3;
const ENTRIES = 100_000;

function verdict(met: boolean): string {
  return met ? 'met' : 'missed';
}

function applyRate(name: string, backend: MapBackend): void {
  const events: FeedEvent[] = syntheticIpcache(ENTRIES).map((e) => ({ type: 'ipcache-upsert', prefix: e.prefix, identity: e.identity, 'host-ip': e['host-ip'], node: e.node, endpoint: e.endpoint }));
  const t0 = performance.now();
  const view = new NodeView();
  for (let i = 0; i < events.length; i += 100) {
    const { ops, draft } = planRevision('node-0', view, events.slice(i, i + 100));
    applyMapOps(backend, ops);
    draft.commit();
  }
  const rate = events.length / ((performance.now() - t0) / 1000);
  console.log(`events one agent applies (${name}): ${rate.toFixed(0)}/s (budget ≥ ${EVENTS_BUDGET.toLocaleString('en')}/s): ${verdict(rate >= EVENTS_BUDGET)} (100k ipcache upserts in batches of 100)`);
}

function snapshotApply(backend: MapBackend): void {
  const entries = syntheticIpcache(ENTRIES);
  const reconcile = () => applyMapOps(backend, reconcileWithSnapshot('node-0', readMaps(backend, NODE_MAPS), [], new NodeView(), { ipcache: entries, own: [] }));
  const t0 = performance.now();
  reconcile();
  const first = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const again = reconcile();
  const second = (performance.now() - t1) / 1000;
  console.log(`100k-entry ipcache snapshot into an empty real BPF map: ${first.toFixed(2)} s (budget ≤ ${SNAPSHOT_BUDGET_S} s): ${verdict(first <= SNAPSHOT_BUDGET_S)}`);
  console.log(`  the same snapshot reconciled against the full map (read back + diff, ${again} ops; a restart's resync): ${second.toFixed(2)} s (budget ≤ ${SNAPSHOT_BUDGET_S} s): ${verdict(second <= SNAPSHOT_BUDGET_S)}`);
}

export async function agentBudgets(): Promise<void> {
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
