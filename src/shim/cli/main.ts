// The `idplane` CLI. Configuration by flags or IDPLANE_URL / IDPLANE_TOKEN / IDPLANE_CLUSTER.
import { Command, Option } from 'commander';
import { ApiClient, ApiError } from '../api-client.js';
import { VERSION } from '../version.js';
import { isStructured, OUTPUT_FORMATS, renderClusters, renderEndpoints, renderIdentities, renderNodes, renderStructured, sortEndpoints, type OutputFormat } from './get.js';
import { registerPolicyCommands } from './policy.js';

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

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS);

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  return text;
}

export function buildProgram(write: (s: string) => void, writeErr: (s: string) => void, readStdin: () => Promise<string> = () => readAll(process.stdin)): Command {
  const program = new Command('idplane')
    .description('Inspect an idplane control plane: Cilium-style endpoints and security identities')
    .version(VERSION)
    .addOption(new Option('--url <url>', 'control plane URL').env('IDPLANE_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--token <token>', 'bearer token').env('IDPLANE_TOKEN'))
    .addOption(new Option('--cluster <name>', 'cluster name').env('IDPLANE_CLUSTER').default('default'))
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr });

  /** -o json|yaml prints the whole object (even an empty list, as kubectl does); tables say when nothing matched. */
  async function show(output: OutputFormat, whole: unknown, empty: boolean, emptyMessage: string, table: (o: 'table' | 'wide') => string) {
    if (isStructured(output)) write(`${await renderStructured(whole, output)}\n`);
    else if (empty) writeErr(emptyMessage);
    else write(`${table(output)}\n`);
  }

  const get = program.command('get').description('Display resources');

  get
    .command('endpoints')
    .aliases(['ciliumendpoints', 'ciliumendpoint', 'cep'])
    .description('List endpoints as `kubectl get ciliumendpoints` does, by namespace then name')
    .option('-A, --all-namespaces', 'list endpoints in every namespace')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addOption(outputOption())
    .action(async (opts: { allNamespaces?: boolean; namespace: string; output?: OutputFormat }, cmd: Command) => {
      const endpoints = sortEndpoints(await clientOf(cmd).listEndpoints(opts.allNamespaces ? {} : { namespace: opts.namespace }));
      const output = opts.output ?? 'table';
      await show(output, { items: endpoints }, endpoints.length === 0,
        opts.allNamespaces ? 'No resources found\n' : `No resources found in ${opts.namespace} namespace.\n`,
        (o) => renderEndpoints(endpoints, { allNamespaces: Boolean(opts.allNamespaces), output: o }));
    });

  get
    .command('identities')
    .aliases(['ciliumidentities', 'ciliumidentity', 'ciliumid'])
    .description('List security identities as `kubectl get ciliumidentities` does')
    .addOption(outputOption())
    .action(async (opts: { output?: OutputFormat }, cmd: Command) => {
      const identities = await clientOf(cmd).listIdentities();
      await show(opts.output ?? 'table', { items: identities }, identities.length === 0, 'No resources found\n',
        (o) => renderIdentities(identities, { output: o, now: Date.now() }));
    });

  get
    .command('nodes')
    .description('List nodes with their lease, applied revision and lag behind the cluster revision')
    .addOption(outputOption())
    .action(async (opts: { output?: OutputFormat }, cmd: Command) => {
      const list = await clientOf(cmd).listNodes();
      await show(opts.output ?? 'table', list, list.nodes.length === 0, 'No resources found\n',
        (o) => renderNodes(list, { output: o, now: Date.now() }));
    });

  get
    .command('clusters')
    .description('List clusters with their Cilium cluster IDs (admin token)')
    .addOption(outputOption())
    .action(async (opts: { output?: OutputFormat }, cmd: Command) => {
      const clusters = await clientOf(cmd).listClusters();
      await show(opts.output ?? 'table', { items: clusters }, clusters.length === 0, 'No resources found\n',
        () => renderClusters(clusters, { now: Date.now() }));
    });

  registerPolicyCommands(program, get, { write, writeErr, clientOf, readStdin });

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
    else if (e instanceof TypeError && e.message === 'fetch failed') process.stderr.write(`error: cannot reach the control plane: ${String((e.cause as Error | undefined)?.message ?? e.cause)}\n`);
    else if (e instanceof UsageError) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
}
