// The node agent's process: `run` (open the maps, serve metrics, run the agent until SIGTERM) and
// `cleanup`. Loaded by main.ts only when a command runs, so `--help` and `--version` stay fast.
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import type { MapBackend } from '../../datapath/backends/backend.js';
import { MemoryBackend } from '../../datapath/backends/memory.js';
import { PinRecord } from '../../datapath/backends/pin-record.js';
import { defaultPinDirectory } from '../../datapath/maps.js';
import type { ReferenceDatapath } from '../../datapath/reference-datapath.js';
import { Agent } from './agent.js';
import { LocalApi } from './local-api.js';
import { kubernetesPodLabels } from './pod-labels.js';
import { StaleEndpointCollector } from './stale-endpoints.js';
import { hostInterfaceExists } from '../../datapath/host-interfaces.js';
import { AgentMetrics, formatHostPort, parseHostPort } from './metrics.js';
import { StateFile } from './state-file.js';

export interface RunOptions {
  url: string;
  cluster: string;
  node: string;
  tokenFile: string;
  bpffs: string;
  pinDir?: string;
  stateDir: string;
  backend: 'bpf' | 'memory';
  metricsAddress: string;
  ipv4?: string;
  ipv6?: string;
  leaseSeconds: string;
  longPoll?: boolean;
  logLevel: string;
  socket: string;
  syncTimeoutSeconds: string;
  kubeconfig?: string;
  staleEndpointGraceSeconds: string;
  datapathObject: string;
  datapathGuardBridge?: string;
}

async function openBackend(o: RunOptions): Promise<MapBackend> {
  if (o.backend === 'memory') return new MemoryBackend();
  const { BpfBackend } = await import('../../datapath/backends/bpf.js');
  return new BpfBackend(o.pinDir ?? defaultPinDirectory(o.bpffs), new PinRecord(o.stateDir));
}

/** The reference datapath, on the maps of the bpf backend; none with the memory backend. */
async function openDatapath(o: RunOptions, backend: MapBackend): Promise<ReferenceDatapath | undefined> {
  if (o.backend === 'memory') return undefined;
  const { ReferenceDatapath } = await import('../../datapath/reference-datapath.js');
  return new ReferenceDatapath({ object: o.datapathObject, pinDir: o.pinDir ?? defaultPinDirectory(o.bpffs), loadDir: `${o.bpffs.replace(/\/+$/, '')}/idplane`, backend });
}

function parseSeconds(flag: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: ${JSON.stringify(s)} is not a whole number of seconds in ${min}..${max}`);
  return n;
}

export async function run(o: RunOptions): Promise<void> {
  const logger = pino({ name: 'idplane-agent', level: o.logLevel, base: { node: o.node } });
  const leaseSeconds = parseSeconds('--lease-seconds', o.leaseSeconds, 0, 86400);
  const syncTimeoutMs = parseSeconds('--sync-timeout-seconds', o.syncTimeoutSeconds, 1, 3600) * 1000;
  const staleGraceMs = parseSeconds('--stale-endpoint-grace-seconds', o.staleEndpointGraceSeconds, 0, 86400) * 1000;
  const listen = parseHostPort(o.metricsAddress);
  const token = readFileSync(o.tokenFile, 'utf8').trim();
  const backend = await openBackend(o);
  const metrics = new AgentMetrics(true);
  const datapath = await openDatapath(o, backend);
  if (datapath) metrics.datapathCountersFrom(() => datapath.counters());
  if (o.datapathGuardBridge !== undefined && !datapath) throw new Error('--datapath-guard-bridge needs the bpf backend');
  const server = await metrics.serve(listen);
  logger.info({ metrics: `http://${formatHostPort(server.address())}/metrics` }, 'serving metrics');
  const agent = new Agent({
    url: o.url, cluster: o.cluster, node: o.node, token, ipv4: o.ipv4, ipv6: o.ipv6, leaseSeconds,
    backend, stateFile: new StateFile(o.stateDir), metrics, logger, longPoll: o.longPoll,
  });
  const podLabels = o.kubeconfig === undefined ? undefined : await kubernetesPodLabels(o.kubeconfig);
  const localApi = new LocalApi({ node: o.node, api: () => agent.api, revision: agent.revision, syncTimeoutMs, podLabels, datapath, logger,
    datapathProblems: (ep) => agent.datapathProblems(ep),
  });
  let staleSweeps: NodeJS.Timeout | undefined;
  let guard: { stop(): void } | undefined;
  let stopping = false;
  // Stop heartbeating and leave: the node and its endpoints stay registered (see agent.ts).
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping; the node stays registered until its lease lapses or an admin deletes it');
    clearInterval(staleSweeps);
    guard?.stop();
    await localApi.close();
    await agent.stop();
    backend.close();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    await agent.start();
  } catch (e) {
    await agent.stop();
    backend.close();
    server.close();
    throw e;
  }
  if (stopping) return;
  if (o.datapathGuardBridge !== undefined) {
    const { BridgePortGuard } = await import('../../datapath/bridge-port-guard.js');
    const g = new BridgePortGuard({ bridge: o.datapathGuardBridge, datapath: datapath!, logger });
    await g.start();
    guard = g;
    logger.info({ bridge: o.datapathGuardBridge }, 'guarding new ports of the bridge until their endpoint has the reference datapath');
  }
  // Served once the maps are in sync: until then the CNI plugin is told to try again later.
  await localApi.listen(o.socket);
  logger.info({ socket: o.socket }, 'serving the local endpoint API');
  if (staleGraceMs > 0) staleSweeps = sweepStaleEndpoints(agent, o.node, staleGraceMs, metrics, logger);
  logger.info('agent running');
}

/** Looks for endpoints whose host interface is gone every quarter grace period (at most a minute). */
function sweepStaleEndpoints(agent: Agent, node: string, graceMs: number, metrics: AgentMetrics, logger: Logger): NodeJS.Timeout {
  const collector = new StaleEndpointCollector({
    node, api: () => agent.api, interfaceExists: hostInterfaceExists, graceMs, now: Date.now, logger,
    onRemoved: () => metrics.staleEndpointsRemoved.inc(),
  });
  let running = false;
  return setInterval(() => {
    if (running) return;
    running = true;
    collector
      .sweep()
      .catch((e: unknown) => {
        metrics.errors.inc({ kind: 'stale-endpoints' });
        logger.warn({ err: e }, 'looking for stale endpoints failed; trying again at the next sweep');
      })
      .finally(() => (running = false));
  }, Math.min(60_000, Math.max(1000, graceMs / 4)));
}

export async function cleanup(o: { stateDir: string; logLevel: string }): Promise<void> {
  const logger = pino({ name: 'idplane-agent', level: o.logLevel });
  const { removeOwnedPins } = await import('../../datapath/backends/bpf.js');
  const { removed, kept } = removeOwnedPins(new PinRecord(o.stateDir));
  for (const path of removed) logger.info({ path }, 'removed pinned map');
  for (const k of kept) logger.warn(k, 'not removed');
  logger.info({ removed: removed.length, kept: kept.length }, 'cleanup done');
}
