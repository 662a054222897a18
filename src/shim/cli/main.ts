// The `idplane` CLI. Configuration by flags or IDPLANE_URL / IDPLANE_TOKEN / IDPLANE_CLUSTER.
import { Command, Option } from 'commander';
import { ApiClient, ApiError } from '../api-client.js';
import type { NodeList } from '../../api/nodes.js';
import { renderClusters, renderEndpoints, renderIdentities, renderNodes, type OutputFormat } from './get.js';

interface GlobalOptions {
  url: string;
  token?: string;
  cluster: string;
}

class UsageError extends Error {}

function clientOf(cmd: Command): ApiClient {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  if (!opts.token) throw new UsageError('no token: pass --token or set IDPLANE_TOKEN');
  return new ApiClient({ url: opts.url, token: opts.token, cluster: opts.cluster });
}

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(['json', 'wide']);

export function buildProgram(write: (s: string) => void, writeErr: (s: string) => void): Command {
  const program = new Command('idplane')
    .description('Inspect an idplane control plane: Cilium-style endpoints and security identities')
    .addOption(new Option('--url <url>', 'control plane URL').env('IDPLANE_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--token <token>', 'bearer token').env('IDPLANE_TOKEN'))
    .addOption(new Option('--cluster <name>', 'cluster name').env('IDPLANE_CLUSTER').default('default'))
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr });

  const get = program.command('get').description('Display resources');

  get
    .command('endpoints')
    .alias('cep')
    .description('List endpoints as `kubectl get ciliumendpoints` does')
    .option('-A, --all-namespaces', 'list endpoints in every namespace')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addOption(outputOption())
    .action(async (opts: { allNamespaces?: boolean; namespace: string; output?: OutputFormat }, cmd: Command) => {
      const endpoints = await clientOf(cmd).listEndpoints(opts.allNamespaces ? {} : { namespace: opts.namespace });
      if (endpoints.length === 0 && opts.output !== 'json') {
        writeErr(opts.allNamespaces ? 'No resources found\n' : `No resources found in ${opts.namespace} namespace.\n`);
        return;
      }
      write(`${renderEndpoints(endpoints, { allNamespaces: Boolean(opts.allNamespaces), output: opts.output ?? 'table' })}\n`);
    });

  get
    .command('identities')
    .alias('ciliumid')
    .description('List security identities as `kubectl get ciliumidentities` does')
    .addOption(outputOption())
    .action(async (opts: { output?: OutputFormat }, cmd: Command) => {
      const identities = await clientOf(cmd).listIdentities();
      if (identities.length === 0 && opts.output !== 'json') {
        writeErr('No resources found\n');
        return;
      }
      write(`${renderIdentities(identities, { output: opts.output ?? 'table', now: Date.now() })}\n`);
    });

  get
    .command('nodes')
    .description('List nodes with their lease, applied revision and lag behind the cluster revision')
    .addOption(outputOption())
    .action(async (opts: { output?: OutputFormat }, cmd: Command) => {
      const list = await clientOf(cmd).listNodes();
      if (list.nodes.length === 0 && opts.output !== 'json') {
        writeErr('No resources found\n');
        return;
      }
      write(`${renderNodes(list, { output: opts.output ?? 'table', now: Date.now() })}\n`);
    });

  get
    .command('clusters')
    .description('List clusters with their Cilium cluster IDs (admin token)')
    .addOption(outputOption())
    .action(async (opts: { output?: OutputFormat }, cmd: Command) => {
      const clusters = await clientOf(cmd).listClusters();
      if (clusters.length === 0 && opts.output !== 'json') {
        writeErr('No resources found\n');
        return;
      }
      write(`${renderClusters(clusters, { output: opts.output ?? 'table', now: Date.now() })}\n`);
    });

  return program;
}

/** Runs the CLI; the one place that chooses the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram((s) => process.stdout.write(s), (s) => process.stderr.write(s));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) return err.exitCode ?? 1;
    if (e instanceof ApiError) process.stderr.write(`Error from server (${e.code}): ${e.message}\n`);
    else if (e instanceof UsageError) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
}
