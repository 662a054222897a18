// `idplane-agent run`: the node agent's command line. Flags or IDPLANE_* environment variables.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import type { MapBackend } from '../../datapath/backends/backend.js';
import { MemoryBackend } from '../../datapath/backends/memory.js';
import { Agent } from './agent.js';
import { AgentMetrics } from './metrics.js';
import { StateFile } from './state-file.js';

interface RunOptions {
  url: string;
  cluster: string;
  node: string;
  tokenFile: string;
  bpffs: string;
  stateDir: string;
  backend: 'bpf' | 'memory';
  metricsPort: string;
  ipv4?: string;
  ipv6?: string;
  leaseSeconds: string;
  longPoll?: boolean;
}

async function openBackend(kind: 'bpf' | 'memory', bpffs: string): Promise<MapBackend> {
  if (kind === 'memory') return new MemoryBackend();
  const { BpfBackend } = await import('../../datapath/backends/bpf.js');
  return new BpfBackend(bpffs);
}

async function run(o: RunOptions): Promise<void> {
  const logger = pino({ name: 'idplane-agent', base: { node: o.node } });
  const token = readFileSync(o.tokenFile, 'utf8').trim();
  const backend = await openBackend(o.backend, o.bpffs);
  const metrics = new AgentMetrics(true);
  const server = await metrics.serve(Number(o.metricsPort));
  const agent = new Agent({
    url: o.url, cluster: o.cluster, node: o.node, token, ipv4: o.ipv4, ipv6: o.ipv6, leaseSeconds: Number(o.leaseSeconds),
    backend, stateFile: new StateFile(o.stateDir), metrics, logger, longPoll: o.longPoll,
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await agent.stop();
    backend.close();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await agent.start();
  logger.info({ metrics: server.address() }, 'agent running');
}

export function buildAgentProgram(): Command {
  const program = new Command('idplane-agent').description('idplane node agent: follows the change feed into pinned BPF maps');
  program
    .command('run')
    .description('Register the node, reconcile its maps and follow the change feed')
    .addOption(new Option('--url <url>', 'control plane URL').env('IDPLANE_URL').makeOptionMandatory())
    .addOption(new Option('--cluster <name>', 'cluster name').env('IDPLANE_CLUSTER').default('default'))
    .addOption(new Option('--node <name>', 'this node').env('IDPLANE_NODE').makeOptionMandatory())
    .addOption(new Option('--token-file <path>', 'file with the node token (or an admin token to register with)').env('IDPLANE_TOKEN_FILE').makeOptionMandatory())
    .addOption(new Option('--bpffs <dir>', 'bpffs mount; maps are pinned under <dir>/tc/globals').env('IDPLANE_BPFFS').default('/sys/fs/bpf'))
    .addOption(new Option('--state-dir <dir>', 'where the applied revision is kept').env('IDPLANE_STATE_DIR').default('/var/lib/idplane-agent'))
    .addOption(new Option('--backend <kind>', 'map backend').choices(['bpf', 'memory']).env('IDPLANE_BACKEND').default('bpf'))
    .addOption(new Option('--metrics-port <port>', 'Prometheus metrics port on 127.0.0.1 (0: any)').env('IDPLANE_METRICS_PORT').default('9962'))
    .addOption(new Option('--ipv4 <ip>', "this node's IPv4 address (when registering)").env('IDPLANE_NODE_IPV4'))
    .addOption(new Option('--ipv6 <ip>', "this node's IPv6 address (when registering)").env('IDPLANE_NODE_IPV6'))
    .addOption(new Option('--lease-seconds <n>', 'node lease TTL renewed by heartbeats').env('IDPLANE_LEASE_SECONDS').default('40'))
    .addOption(new Option('--long-poll', 'follow the feed by long-poll instead of the WebSocket'))
    .action(run);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildAgentProgram().parseAsync(argv, { from: 'user' });
  } catch (e) {
    process.stderr.write(`idplane-agent: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
