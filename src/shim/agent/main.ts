// `idplane-agent run|cleanup`: the node agent's command line. Flags or IDPLANE_* environment variables.
import { Command, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.js';
import type { RunOptions } from './run.js';
import { DEFAULT_AGENT_SOCKET } from './socket-path.js';

/** Not cilium-agent's 9962, cilium-operator's 9963, Envoy's 9964, Hubble's 9965 or Hubble Relay's 9966. */
export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9970';
/** Cilium's kvstore lease (15 min): a restart, an upgrade or a short outage keeps the node's pods. */
export const DEFAULT_LEASE_SECONDS = 900;

/** `npm run build:bpf` puts the reference datapath here, beside dist/ (this file is bundled into dist/). */
const DEFAULT_DATAPATH_OBJECT = fileURLToPath(new URL('../build/bpf/reference.o', import.meta.url));

const logLevelOption = () =>
  new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).env('IDPLANE_LOG_LEVEL').default('info');
const stateDirOption = () => new Option('--state-dir <dir>', 'where the applied revision and the record of pinned maps are kept').env('IDPLANE_STATE_DIR').default('/var/lib/idplane-agent');

export function buildAgentProgram(): Command {
  const program = new Command('idplane-agent')
    .description('idplane node agent: follows the change feed into pinned BPF maps. It takes the place of cilium-agent on a node, never runs beside it')
    .version(VERSION);
  program
    .command('run')
    .description('Register the node, reconcile its maps and follow the change feed')
    .addOption(new Option('--url <url>', 'control plane URL').env('IDPLANE_URL').makeOptionMandatory())
    .addOption(new Option('--cluster <name>', 'cluster name').env('IDPLANE_CLUSTER').default('default'))
    .addOption(new Option('--node <name>', 'this node').env('IDPLANE_NODE').makeOptionMandatory())
    .addOption(new Option('--token-file <path>', 'file with the node token (or an admin token to register with)').env('IDPLANE_TOKEN_FILE').makeOptionMandatory())
    .addOption(new Option('--bpffs <dir>', 'bpffs mount').env('IDPLANE_BPFFS').default('/sys/fs/bpf'))
    .addOption(new Option('--pin-dir <dir>', 'where maps are pinned (default: <bpffs>/tc/globals)').env('IDPLANE_PIN_DIR'))
    .addOption(stateDirOption())
    .addOption(new Option('--backend <kind>', 'map backend').choices(['bpf', 'memory']).env('IDPLANE_BACKEND').default('bpf'))
    .addOption(new Option('--metrics-address <host:port>', 'Prometheus /metrics listen address (port 0: any free port, logged)').env('IDPLANE_METRICS_ADDRESS').default(DEFAULT_METRICS_ADDRESS))
    .addOption(new Option('--ipv4 <ip>', "this node's IPv4 address (when registering)").env('IDPLANE_NODE_IPV4'))
    .addOption(new Option('--ipv6 <ip>', "this node's IPv6 address (when registering)").env('IDPLANE_NODE_IPV6'))
    .addOption(new Option('--lease-seconds <n>', 'lease of a node the agent registers (an existing node keeps its own); 0: none').env('IDPLANE_LEASE_SECONDS').default(String(DEFAULT_LEASE_SECONDS)))
    .addOption(new Option('--long-poll', 'follow the feed by long-poll instead of the WebSocket'))
    .addOption(new Option('--socket <path>', 'unix socket of the local endpoint API (for idplane-cni), mode 0600').env('IDPLANE_AGENT_SOCKET').default(DEFAULT_AGENT_SOCKET))
    .addOption(new Option('--kubeconfig <path>', "read each new pod's labels from the Kubernetes API with this kubeconfig (containerd does not pass them to CNI)").env('IDPLANE_KUBECONFIG'))
    .addOption(new Option('--stale-endpoint-grace-seconds <n>', "remove an endpoint whose host interface has been gone this long (its CNI DEL never ran); 0: never").env('IDPLANE_STALE_ENDPOINT_GRACE_SECONDS').default('300'))
    .addOption(new Option('--sync-timeout-seconds <n>', "how long a local create waits for this node's maps before failing").env('IDPLANE_SYNC_TIMEOUT_SECONDS').default('30'))
    .addOption(new Option('--datapath-object <path>', 'the reference datapath (npm run build:bpf), attached to a pod whose create asks for it').env('IDPLANE_DATAPATH_OBJECT').default(DEFAULT_DATAPATH_OBJECT))
    .addOption(new Option('--datapath-guard-bridge <name>', "drop-all on every new port of this bridge until its pod's endpoint has the reference datapath (only for a bridge whose pods all use it)").env('IDPLANE_DATAPATH_GUARD_BRIDGE'))
    .addOption(logLevelOption())
    .action(async (o: RunOptions) => (await import('./run.js')).run(o));
  program
    .command('cleanup')
    .description('Remove the maps this agent pinned (as recorded in its state directory), and only those')
    .addOption(stateDirOption())
    .addOption(logLevelOption())
    .action(async (o: { stateDir: string; logLevel: string }) => (await import('./run.js')).cleanup(o));
  return program;
}

/** Runs the agent's command line; the one place that chooses the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildAgentProgram().exitOverride().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) return err.exitCode ?? 1;
    process.stderr.write(`idplane-agent: ${(e as Error).message}\n`);
    return 1;
  }
}
