// Feed budgets (DESIGN.md §7): propagation from a create to the map write on 100 connected agents
// (99 with the memory backend in this process, one writing a real BPF map). The agent's own speed
// (events/s applied, a 100k snapshot into a BPF map) is bench/agent-bench.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { IpcacheEntry } from '../src/api/identities.js';
import type { MapBackend } from '../src/datapath/backends/backend.js';
import { MemoryBackend } from '../src/datapath/backends/memory.js';
import { PinRecord } from '../src/datapath/backends/pin-record.js';
import { defaultPinDirectory } from '../src/datapath/maps.js';
import { Agent } from '../src/shim/agent/agent.js';
import { AgentMetrics } from '../src/shim/agent/metrics.js';
import { StateFile } from '../src/shim/agent/state-file.js';
import { rootUnavailableReason } from '../test/e2e/root.js';
import { putCluster } from '../test/e2e/support.js';
import { startWranglerDev } from '../test/e2e/wrangler-dev.js';
import { checkBudget } from './budgets.js';

/** The p-th percentile of ascending samples (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A bpffs mount of its own, or the reason there is none. */
export function bpffsMount(): { path: string; unmount(): void } | string {
  const reason = rootUnavailableReason();
  if (reason) return reason;
  const path = join(mkdtempSync(join(tmpdir(), 'bench-bpffs-')), 'bpffs');
  mkdirSync(path);
  execFileSync('mount', ['-t', 'bpf', 'bpf', path]);
  return { path, unmount: () => execFileSync('umount', [path]) };
}

export async function bpfBackend(path: string): Promise<MapBackend> {
  const { BpfBackend } = await import('../src/datapath/backends/bpf.js');
  return new BpfBackend(defaultPinDirectory(path), new PinRecord(mkdtempSync(join(tmpdir(), 'bench-pins-'))));
}

/** Endpoint entries (a node and an endpoint each), as many as `n`. */
export function syntheticIpcache(n: number): (IpcacheEntry & { node: string; endpoint: number })[] {
  return Array.from({ length: n }, (_, i) => ({
    prefix: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`, identity: 256 + (i % 16000), node: `node-${i % 100}`, 'host-ip': `192.168.${(i % 100) >> 8}.${i % 100}`, endpoint: 1 + (i % 4000),
  }));
}

async function propagation(bpffs: string | undefined): Promise<void> {
  const dev = await startWranglerDev();
  const cluster = 'feedbench';
  const work = mkdtempSync(join(tmpdir(), 'feedbench-'));
  const agents: Agent[] = [];
  const backends: MapBackend[] = [];
  // Per agent: commit → in the maps (ms), and create request sent → in the maps (ms).
  const fromCommit: number[][] = [];
  const fromSend: number[][] = [];
  const sentAt = new Map<string, number>();
  const seen: Map<string, number>[] = [];
  const perPrefix = new Map<string, number[]>();
  try {
    await putCluster(dev, cluster);
    for (let i = 0; i < 100; i++) {
      const backend = i === 0 && bpffs !== undefined ? await bpfBackend(bpffs) : new MemoryBackend();
      fromCommit.push([]);
      fromSend.push([]);
      seen.push(new Map());
      const agent = new Agent({
        url: dev.url, cluster, node: `node-${i}`, token: dev.token, ipv4: `192.168.100.${i + 1}`, leaseSeconds: 600,
        backend, stateFile: new StateFile(join(work, `s${i}`)), metrics: new AgentMetrics(), logger: pino({ level: 'silent' }),
        onBatchApplied: (batch, appliedAt) => {
          for (const e of batch.events) {
            if (e.type !== 'ipcache-upsert' || !sentAt.has(e.prefix)) continue;
            fromCommit[i]!.push(appliedAt - batch['committed-at']!);
            perPrefix.set(e.prefix, [...(perPrefix.get(e.prefix) ?? []), appliedAt - batch['committed-at']!]);
            fromSend[i]!.push(appliedAt - sentAt.get(e.prefix)!);
            seen[i]!.set(e.prefix, appliedAt);
          }
        },
      });
      await agent.start();
      agents.push(agent);
      backends.push(backend);
    }
    const n = 200;
    for (let i = 0; i < n; i++) {
      const ip = `10.200.${i >> 8}.${i & 255}`;
      sentAt.set(`${ip}/32`, Date.now());
      const res = await fetch(`${dev.url}/v1/clusters/${cluster}/nodes/node-${1 + (i % 99)}/endpoints/cilium-local:0`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ labels: [`k8s:app=p${i % 10}`], addressing: { ipv4: ip }, 'sync-build-endpoint': true }),
      });
      if (!res.ok) throw new Error(`create: ${res.status} ${await res.text()}`);
      const deadline = Date.now() + 5000;
      while (seen.some((m) => !m.has(`${ip}/32`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      if (seen.some((m) => !m.has(`${ip}/32`))) throw new Error(`${ip} did not reach every agent`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const summary = (samples: number[]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`;
    };
    const p99 = percentile([...fromCommit.flat()].sort((a, b) => a - b), 99);
    console.log(checkBudget({
      what: 'commit → map write, 100 real agents in one process', measured: summary(fromCommit.flat()), budget: 'p99 ≤ 20 ms',
      against: `create sent → map write ${summary(fromSend.flat())}`, met: p99 <= 20,
    }));
    if (bpffs) console.log(`  the real BPF agent: commit → map write ${summary(fromCommit[0]!)}`);
    // The 100 agents share this process's event loop: the first to apply a batch shows the
    // control plane's commit → push latency, the last adds the serial work of the other 99.
    const firsts = [...perPrefix.values()].map((v) => Math.min(...v));
    const lasts = [...perPrefix.values()].map((v) => Math.max(...v));
    console.log(`  per commit, first of the 100 agents: ${summary(firsts)}; last: ${summary(lasts)}`);
  } finally {
    for (const a of agents) await a.stop();
    for (const b of backends) b.close();
    await dev.stop();
  }
}

export async function feedBudgets(): Promise<void> {
  const mount = bpffsMount();
  const bpffs = typeof mount === 'string' ? undefined : mount.path;
  if (typeof mount === 'string') console.log(`(no real BPF map: ${mount})`);
  try {
    await propagation(bpffs);
  } finally {
    if (typeof mount !== 'string') mount.unmount();
  }
}
