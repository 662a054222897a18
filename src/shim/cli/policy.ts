// The policy commands: `apply -f`, `get cnp|ccnp`, `delete cnp|ccnp`, `bpf policy get`,
// `policy trace` and `policy selectors`, registered on the program that main.ts builds.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiError, type ApiClient, type PolicyRef } from '../api-client.js';
import type { TraceParty, TraceRequest } from '../../api/policies.js';
import { applyTargets, planApply, resourceName } from './apply.js';
import { renderStructured } from './get.js';
import { policyList, remoteIdentities, renderBpfPolicy, renderClusterwidePolicies, renderNetworkPolicies, renderPolicySelectors, renderTrace, sortPolicies } from './policy-render.js';

export interface PolicyCommandContext {
  write: (s: string) => void;
  writeErr: (s: string) => void;
  clientOf: (cmd: Command) => ApiClient;
  /** The text of `-f -`. */
  readStdin: () => Promise<string>;
}

type Structured = 'json' | 'yaml';
const structuredOption = () => new Option('-o, --output <format>', 'output format').choices(['json', 'yaml']);

const PROTOCOL_NAMES = ['TCP', 'UDP', 'SCTP'] as const;

/** `--dport 80/TCP` (the protocol defaults to TCP; a name or an IANA number). */
export function parseDport(text: string): Pick<TraceRequest, 'port' | 'protocol'> {
  const m = /^(\d{1,5})(?:\/([A-Za-z]+|\d{1,3}))?$/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected PORT or PORT/PROTOCOL, e.g. 80/TCP');
  const proto = m[2] ?? 'TCP';
  if (/^\d+$/.test(proto)) {
    if (Number(proto) > 255) throw new InvalidArgumentError('a protocol number is 0-255');
    return { port, protocol: Number(proto) };
  }
  const name = PROTOCOL_NAMES.find((p) => p === proto.toUpperCase());
  if (name === undefined) throw new InvalidArgumentError('protocol is TCP, UDP, SCTP or an IANA number');
  return { port, protocol: name };
}

export interface PeerFlags {
  identity?: string;
  labels?: string;
  endpoint?: string;
}

/** One side of a trace from exactly one of --X-identity, --X-labels (comma-separated), --X-endpoint NODE/REF. */
export function tracePeer(flags: PeerFlags, side: 'src' | 'dst'): { peer: TraceParty; text: string } {
  const given = Object.entries(flags).filter(([, v]) => v !== undefined);
  if (given.length !== 1) throw new Error(`give exactly one of --${side}-identity, --${side}-labels, --${side}-endpoint`);
  if (flags.identity !== undefined) {
    if (!/^\d{1,10}$/.test(flags.identity)) throw new Error(`--${side}-identity: expected a number, got "${flags.identity}"`);
    return { peer: { identity: Number(flags.identity) }, text: `identity ${flags.identity}` };
  }
  if (flags.labels !== undefined) {
    const labels = flags.labels.split(',').map((l) => l.trim()).filter((l) => l !== '');
    return { peer: { labels }, text: `[${labels.join(' ')}]` };
  }
  const slash = flags.endpoint!.indexOf('/');
  if (slash <= 0 || slash === flags.endpoint!.length - 1) throw new Error(`--${side}-endpoint: expected NODE/REF, got "${flags.endpoint}"`);
  const node = flags.endpoint!.slice(0, slash);
  const ref = flags.endpoint!.slice(slash + 1);
  return { peer: { endpoint: { node, ref } }, text: `endpoint ${node}/${ref}` };
}

/** Labels of the given identities, a few requests at a time; an unknown one is reported and shown by number. */
async function identityLabels(client: ApiClient, ids: readonly number[], writeErr: (s: string) => void): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) => {
        try {
          out.set(id, (await client.getIdentity(id)).labels);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          writeErr(`Was impossible to retrieve label ID ${id}: ${e.message}\n`);
        }
      }),
    );
  }
  return out;
}

const KIND_NAMES: Record<string, PolicyRef['kind']> = {
  cnp: 'CiliumNetworkPolicy',
  ciliumnetworkpolicy: 'CiliumNetworkPolicy',
  ciliumnetworkpolicies: 'CiliumNetworkPolicy',
  ccnp: 'CiliumClusterwideNetworkPolicy',
  ciliumclusterwidenetworkpolicy: 'CiliumClusterwideNetworkPolicy',
  ciliumclusterwidenetworkpolicies: 'CiliumClusterwideNetworkPolicy',
};

/** A policy kind as kubectl names it (`cnp`, `ciliumnetworkpolicies`, `ccnp`, …). */
export function parsePolicyKind(text: string): PolicyRef['kind'] {
  const kind = KIND_NAMES[text.toLowerCase()];
  if (!kind) throw new InvalidArgumentError('expected cnp or ccnp (or their long names)');
  return kind;
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1000) throw new InvalidArgumentError('expected 1-1000');
  return n;
}

export function registerPolicyCommands(program: Command, get: Command, ctx: PolicyCommandContext): void {
  const { write, writeErr, clientOf } = ctx;

  program
    .command('apply')
    .description('Create or update CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies from multi-document YAML')
    .requiredOption('-f, --filename <file>', 'the YAML file, or - for standard input')
    .option('-n, --namespace <ns>', 'namespace of the CNPs that name none (default: default)')
    .action(async (opts: { filename: string; namespace?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const text = opts.filename === '-' ? await ctx.readStdin() : await readFile(opts.filename, 'utf8');
      const { splitPolicyDocuments } = await import('../../core/policy/parse.js');
      const targets = planApply(splitPolicyDocuments(text), opts.namespace);
      const failed = await applyTargets(client, targets, write, writeErr);
      if (failed > 0) throw new Error(`${failed} of ${targets.length} policies not applied`);
    });

  get
    .command('ciliumnetworkpolicies [name]')
    .aliases(['ciliumnetworkpolicy', 'cnp'])
    .description('List CiliumNetworkPolicies as `kubectl get cnp` does (or show one)')
    .option('-A, --all-namespaces', 'list policies in every namespace')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addOption(structuredOption())
    .action(async (name: string | undefined, opts: { allNamespaces?: boolean; namespace: string; output?: Structured }, cmd: Command) => {
      const client = clientOf(cmd);
      const allNamespaces = Boolean(opts.allNamespaces) && name === undefined;
      const items =
        name !== undefined
          ? [(await client.getPolicy({ kind: 'CiliumNetworkPolicy', namespace: opts.namespace, name })).policy]
          : sortPolicies(await client.listPolicies(allNamespaces ? 'all-namespaces' : { namespace: opts.namespace }));
      if (opts.output) write(`${await renderStructured(name !== undefined ? items[0] : policyList(items), opts.output)}\n`);
      else if (items.length === 0) writeErr(allNamespaces ? 'No resources found\n' : `No resources found in ${opts.namespace} namespace.\n`);
      else write(`${renderNetworkPolicies(items, { allNamespaces, now: Date.now() })}\n`);
    });

  get
    .command('ciliumclusterwidenetworkpolicies [name]')
    .aliases(['ciliumclusterwidenetworkpolicy', 'ccnp'])
    .description('List CiliumClusterwideNetworkPolicies as `kubectl get ccnp` does (or show one)')
    .addOption(structuredOption())
    .action(async (name: string | undefined, opts: { output?: Structured }, cmd: Command) => {
      const client = clientOf(cmd);
      const items =
        name !== undefined
          ? [(await client.getPolicy({ kind: 'CiliumClusterwideNetworkPolicy', name })).policy]
          : sortPolicies(await client.listPolicies('clusterwide'));
      if (opts.output) write(`${await renderStructured(name !== undefined ? items[0] : policyList(items), opts.output)}\n`);
      else if (items.length === 0) writeErr('No resources found\n');
      else write(`${renderClusterwidePolicies(items)}\n`);
    });

  const del = program.command('delete').description('Delete resources');
  const deleted = async (cmd: Command, ref: PolicyRef) => {
    await clientOf(cmd).deletePolicy(ref);
    write(`${resourceName(ref).replace(/\/(.*)$/, ' "$1"')} deleted\n`);
  };
  del
    .command('ciliumnetworkpolicy <name>')
    .aliases(['ciliumnetworkpolicies', 'cnp'])
    .description('Delete a CiliumNetworkPolicy')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(async (name: string, opts: { namespace: string }, cmd: Command) => deleted(cmd, { kind: 'CiliumNetworkPolicy', namespace: opts.namespace, name }));
  del
    .command('ciliumclusterwidenetworkpolicy <name>')
    .aliases(['ciliumclusterwidenetworkpolicies', 'ccnp'])
    .description('Delete a CiliumClusterwideNetworkPolicy')
    .action(async (name: string, _opts: unknown, cmd: Command) => deleted(cmd, { kind: 'CiliumClusterwideNetworkPolicy', name }));

  program
    .command('bpf')
    .description('Datapath state as the control plane computes it')
    .command('policy')
    .description('Policy maps')
    .command('get <node> <ref>')
    .description("The entries of an endpoint's cilium_policy_v2 map, as `cilium bpf policy get` lists them")
    .option('-n, --numeric', 'do not resolve identities to labels')
    .addOption(structuredOption())
    .action(async (node: string, ref: string, opts: { numeric?: boolean; output?: Structured }, cmd: Command) => {
      const client = clientOf(cmd);
      const policy = await client.endpointPolicy(node, ref);
      if (opts.output) {
        write(`${await renderStructured(policy, opts.output)}\n`);
        return;
      }
      const labels = opts.numeric ? new Map<number, string[]>() : await identityLabels(client, remoteIdentities(policy.entries), writeErr);
      write(`${renderBpfPolicy(policy.entries, { labels, numeric: Boolean(opts.numeric) })}\n`);
    });

  const policy = program.command('policy').description('Policy tools');

  policy
    .command('selectors')
    .description("Which identities each of a policy's selectors (subjects and peers) selects")
    .argument('<kind>', 'cnp or ccnp', parsePolicyKind)
    .argument('<name>', 'policy name')
    .option('-n, --namespace <ns>', 'namespace of a cnp', 'default')
    .option('--limit <n>', 'identities shown per selector (1-1000)', parseLimit, 100)
    .option('--numeric', 'do not resolve identities to labels')
    .addOption(structuredOption())
    .action(async (kind: PolicyRef['kind'], name: string, opts: { namespace: string; limit: number; numeric?: boolean; output?: Structured }, cmd: Command) => {
      const client = clientOf(cmd);
      const ref: PolicyRef = kind === 'CiliumNetworkPolicy' ? { kind, namespace: opts.namespace, name } : { kind, name };
      const answer = await client.policySelectors(ref, opts.limit);
      if (opts.output) {
        write(`${await renderStructured(answer, opts.output)}\n`);
        return;
      }
      const ids = [...new Set(answer.selectors.flatMap((s) => s.identities))].sort((a, b) => a - b);
      const labels = opts.numeric ? new Map<number, string[]>() : await identityLabels(client, ids, writeErr);
      write(`${renderPolicySelectors(answer, { labels, numeric: Boolean(opts.numeric) })}\n`);
    });

  policy
    .command('trace')
    .description('The verdict a new connection gets: the source egress and the destination ingress, as `cilium policy trace`')
    .option('--src-identity <id>', 'source security identity')
    .option('--src-labels <labels>', 'source labels, comma-separated (traced as the identity they would get)')
    .option('--src-endpoint <node/ref>', 'source endpoint')
    .option('--dst-identity <id>', 'destination security identity')
    .option('--dst-labels <labels>', 'destination labels, comma-separated')
    .option('--dst-endpoint <node/ref>', 'destination endpoint')
    .requiredOption('--dport <port/proto>', 'destination port and protocol, e.g. 80/TCP', parseDport)
    .addOption(structuredOption())
    .action(async (opts: Record<string, string | undefined> & { dport: ReturnType<typeof parseDport>; output?: Structured }, cmd: Command) => {
      const from = tracePeer({ identity: opts.srcIdentity, labels: opts.srcLabels, endpoint: opts.srcEndpoint }, 'src');
      const to = tracePeer({ identity: opts.dstIdentity, labels: opts.dstLabels, endpoint: opts.dstEndpoint }, 'dst');
      const answer = await clientOf(cmd).tracePolicy({ from: from.peer, to: to.peer, protocol: opts.dport.protocol, port: opts.dport.port });
      if (opts.output) write(`${await renderStructured(answer, opts.output)}\n`);
      else write(`${renderTrace(answer, { from: from.text, to: to.text, port: `${opts.dport.port}/${opts.dport.protocol}` })}\n`);
    });
}
