// Issue 10's propagation budget, the control plane's part measured apart from the load generator:
// 100 receive-only node sockets (parse + ack, no map writes; bench/feed-socket-agents.ts) spread
// over 4 processes, against one sync endpoint create at a time. Per create: commit → the last of
// the 100 sockets holds the entry, and the create's own round trip with and without the sockets
// (the fan-out must not sit on the creating request's path). Both through `wrangler dev`'s proxy
// (what agents connect to) and straight to the workerd that runs the Worker, to tell the two apart.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { putCluster } from '../test/e2e/support.js';
import { startWranglerDev, type WranglerDev } from '../test/e2e/wrangler-dev.js';
import { checkBudget } from './budgets.js';
import type { SocketAgentsConfig, SocketAgentsReport } from './feed-socket-agents.js';
import { percentile } from './feed-bench.js';

const SOCKETS = 100;
const PROCESSES = 4;
const CREATES = Number(process.env.BENCH_PROPAGATION_CREATES ?? 200);
/** The issue's budget for commit → every one of 100 agents has it (p99). */
const BUDGET_P99_MS = 20;

const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), text: `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms` };
};

/** The workerd processes of `wrangler dev` (its proxy and the Worker's): their /proc stat fields after the name. */
function workerdStats(dev: WranglerDev): { pid: string; fields: string[] }[] {
  const found: { pid: string; fields: string[] }[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === dev.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd')) found.push({ pid, fields });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU time the workerd processes of `wrangler dev` have used, in ms (user + system). */
function workerdCpuMs(dev: WranglerDev): number {
  const tick = 1000 / 100; // USER_HZ
  return workerdStats(dev).reduce((sum, { fields }) => sum + (Number(fields[11]) + Number(fields[12])) * tick, 0);
}

/** The loopback ports workerd processes of `wrangler dev` listen on (Linux: /proc). */
function workerdPorts(dev: WranglerDev): number[] {
  const inodes = new Set<string>();
  for (const { pid } of workerdStats(dev)) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
        if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(parseInt(f[1]!.split(':')[1]!, 16));
  }
  return ports;
}

/** The URL of the workerd that runs the Worker itself (not wrangler's proxy in front of it). */
async function directUrl(dev: WranglerDev): Promise<string | undefined> {
  for (const port of workerdPorts(dev)) {
    if (port === dev.port) continue;
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (res?.ok && ((await res.json()) as { status?: string }).status === 'ok') return `http://127.0.0.1:${port}`;
  }
  return undefined;
}

async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Starts the socket processes; resolves once all their sockets are open. */
async function startSockets(base: string, nodes: { node: string; token: string }[], onEntry: (r: Extract<SocketAgentsReport, { kind: 'entry' }>) => void): Promise<ChildProcess[]> {
  const per = Math.ceil(nodes.length / PROCESSES);
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    const config: SocketAgentsConfig = { base, nodes: nodes.slice(i * per, (i + 1) * per) };
    const child = fork(resolve(import.meta.dirname, 'feed-socket-agents.ts'), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, SOCKET_AGENTS_CONFIG: JSON.stringify(config) } });
    children.push(child);
    ready.push(new Promise((res, rej) => {
      child.on('message', (m: SocketAgentsReport) => {
        if (m.kind === 'ready') res();
        else if (m.kind === 'entry') onEntry(m);
        else console.error(`socket agents: ${m.message}`);
      });
      child.once('exit', (code) => rej(new Error(`socket agents exited with ${code}`)));
    }));
  }
  await Promise.all(ready);
  return children;
}

interface Run {
  roundTrip: number[];
  first: number[];
  last: number[];
  /** CPU the workerd processes used per create, ms. */
  cpuPerCreate: number;
}

/** `CREATES` sync creates one at a time; with sockets, each waits until all of them hold it. */
async function creates(dev: WranglerDev, cluster: string, tag: number, sockets: ((prefix: string) => Promise<{ first: number; last: number }>) | undefined): Promise<Run> {
  const run: Run = { roundTrip: [], first: [], last: [], cpuPerCreate: 0 };
  const cpu0 = workerdCpuMs(dev);
  for (let i = 0; i < CREATES; i++) {
    const ip = `10.${tag}.${i >> 8}.${i & 255}`;
    const held = sockets?.(`${ip}/32`);
    const t0 = performance.now();
    await api(dev.url, dev.token, 'PUT', `/v1/clusters/${cluster}/nodes/node-${i % SOCKETS}/endpoints/cilium-local:0`, {
      labels: [`k8s:app=p${i % 10}`], addressing: { ipv4: ip }, 'sync-build-endpoint': true,
    });
    run.roundTrip.push(performance.now() - t0);
    if (held) {
      const { first, last } = await held;
      run.first.push(first);
      run.last.push(last);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  run.cpuPerCreate = (workerdCpuMs(dev) - cpu0) / CREATES;
  return run;
}

async function withSockets(dev: WranglerDev, base: string, cluster: string, nodes: { node: string; token: string }[], tag: number): Promise<Run> {
  const waiting = new Map<string, { reports: { first: number; last: number }[]; done: (r: { first: number; last: number }) => void }>();
  const children = await startSockets(`${base.replace(/^http/, 'ws')}/v1/clusters/${cluster}`, nodes, (r) => {
    const w = waiting.get(r.prefix);
    if (!w) return;
    w.reports.push(r);
    if (w.reports.length < PROCESSES) return;
    waiting.delete(r.prefix);
    w.done({ first: Math.min(...w.reports.map((x) => x.first)), last: Math.max(...w.reports.map((x) => x.last)) });
  });
  try {
    const held = (prefix: string) => {
      const arrived = new Promise<{ first: number; last: number }>((done) => waiting.set(prefix, { reports: [], done }));
      const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${prefix} did not reach every socket in 10 s`)), 10_000).unref());
      return Promise.race([arrived, timeout]);
    };
    return await creates(dev, cluster, tag, held);
  } finally {
    for (const c of children) c.kill();
  }
}

export async function propagationBudgets(): Promise<void> {
  const dev = await startWranglerDev();
  try {
    const cluster = 'propagation';
    await putCluster(dev, cluster);
    const nodes: { node: string; token: string }[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const reg = (await api(dev.url, dev.token, 'PUT', `/v1/clusters/${cluster}/nodes/node-${i}`, { ipv4: `192.168.100.${i + 1}` })) as { token: string };
      nodes.push({ node: `node-${i}`, token: reg.token });
    }
    const direct = await directUrl(dev);
    await creates(dev, cluster, 1, undefined); // warm-up
    const alone = await creates(dev, cluster, 2, undefined);
    const proxied = await withSockets(dev, dev.url, cluster, nodes, 3);
    const straight = direct ? await withSockets(dev, direct, cluster, nodes, 4) : undefined;
    const rt = summary(alone.roundTrip);
    console.log(`propagation, ${CREATES} sync creates one at a time, ${SOCKETS} receive-only node sockets (parse + ack) over ${PROCESSES} processes:`);
    console.log(`  create round trip, no sockets: ${rt.text}; workerd CPU ${alone.cpuPerCreate.toFixed(1)} ms per create`);
    for (const [name, run] of [['through wrangler\'s proxy', proxied], ['straight to workerd', straight]] as const) {
      if (!run) {
        console.log(`  ${name}: (workerd's own port not found)`);
        continue;
      }
      const last = summary(run.last);
      const withRt = summary(run.roundTrip);
      console.log(`  ${checkBudget({
        what: `commit → the last of ${SOCKETS} node sockets holds it, ${name}`, measured: last.text, budget: `p99 ≤ ${BUDGET_P99_MS} ms`,
        against: `the first socket: ${summary(run.first).text}`, met: last.p99 <= BUDGET_P99_MS,
      })}`);
      console.log(`    create round trip with the sockets: ${withRt.text} (${(withRt.p50 / rt.p50).toFixed(2)} × the p50 without; ≈ 1 when the fan-out is off the create's path); workerd CPU ${run.cpuPerCreate.toFixed(1)} ms per create`);
    }
  } finally {
    await dev.stop();
  }
}
