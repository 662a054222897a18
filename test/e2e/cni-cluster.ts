// Two nodes for idplane-cni as root, shared by the e2e test and the `cni` bench section: a real
// `wrangler dev`, per node an idplane-agent process with its own bpffs mount and local API
// socket, a bridge + host-local + idplane-cni conflist, and pods as network namespaces; plus the
// bpftool readers of a node's maps, and a teardown that removes whatever was made.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeIpcacheValue, encodeIpcacheKey } from '../../src/datapath/layout/ipcache.js';
import { decodeLxcValue, encodeLxcKey } from '../../src/datapath/layout/lxc.js';
import { AGENT_BIN } from './agent-process.js';
import { CniRuntime, podArgs, referencePluginDir, type Attachment, type Conflist } from './cni-chain.js';
import { rootUnavailableReason } from './root.js';
import { clusterApi, eventually, lookupPinned, putCluster, unixSocketRequest } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

export const CNI_PLUGIN = resolve(import.meta.dirname, '../../dist/idplane-cni.cjs');

/** Why pods cannot be attached here (no root, bpftool or reference plugins), or undefined. */
export function cniUnavailableReason(): string | undefined {
  return rootUnavailableReason() ?? (referencePluginDir() ? undefined : 'the reference CNI plugins are not installed (apt-get install containernetworking-plugins)');
}

export interface CniNode {
  ip: string;
  bpffs: string;
  socket: string;
  list: Conflist;
  agent?: ChildProcess;
}

export interface PodSpec {
  ns: string;
  pod: string;
  node: string;
  labels: Record<string, string>;
}

export const NODE_NAMES = ['node-a', 'node-b'] as const;
export const otherNode = (node: string) => (node === 'node-a' ? 'node-b' : 'node-a');
export const endpointRef = (at: Attachment) => `cni-attachment-id:${at.containerId}:${at.ifname}`;

export class CniCluster {
  readonly work = mkdtempSync(join(tmpdir(), 'idplane-cni-'));
  // Names of host interfaces and namespaces: unique per run, short (IFNAMSIZ).
  readonly tag = this.work.slice(-4).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  readonly runtime = new CniRuntime([join(this.work, 'bin'), referencePluginDir() ?? '/usr/lib/cni']);
  readonly nodes: Record<string, CniNode> = {};
  readonly api: ReturnType<typeof clusterApi>;
  /** Network namespaces made and not yet deleted, oldest first. */
  readonly netnsNames: string[] = [];
  dev!: WranglerDev;
  private readonly mounts: string[] = [];

  /** `plugin`: idplane-cni's conflist entry beyond its type and socket (the same on both nodes). */
  constructor(readonly cluster: string, plugin: Record<string, unknown>) {
    this.api = clusterApi(() => this.dev, cluster);
    for (const [n, node] of NODE_NAMES.entries()) {
      const socket = join(this.work, node, 'agent.sock');
      const list: Conflist = {
        cniVersion: '1.0.0',
        name: 'idplane',
        plugins: [
          { type: 'bridge', bridge: `idp${this.tag}${n + 1}`, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: `10.87.${n + 1}.0/24`, dataDir: join(this.work, node, 'ipam') } },
          { type: 'idplane-cni', 'agent-socket': socket, ...plugin },
        ],
      };
      this.nodes[node] = { ip: `192.168.87.${n + 1}`, bpffs: join(this.work, node, 'bpffs'), socket, list };
    }
  }

  /** The control plane, the cluster, a bpffs mount per node and both agents, serving their sockets. */
  async start(): Promise<void> {
    mkdirSync(join(this.work, 'bin'));
    // As installed: the bundle alone, under the plugin's type name.
    symlinkSync(CNI_PLUGIN, join(this.work, 'bin', 'idplane-cni'));
    this.dev = await startWranglerDev();
    await putCluster(this.dev, this.cluster);
    writeFileSync(join(this.work, 'token'), this.dev.token);
    for (const d of Object.values(this.nodes)) {
      mkdirSync(d.bpffs, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', d.bpffs]);
      this.mounts.push(d.bpffs);
    }
    await Promise.all(Object.keys(this.nodes).map((node) => this.startAgent(node)));
  }

  private async startAgent(node: string): Promise<void> {
    const d = this.nodes[node]!;
    d.agent = spawn(process.execPath, [AGENT_BIN, 'run', '--url', this.dev.url, '--cluster', this.cluster, '--node', node, '--token-file', join(this.work, 'token'),
      '--bpffs', d.bpffs, '--state-dir', join(this.work, node, 'state'), '--socket', d.socket, '--metrics-address', '127.0.0.1:0', '--ipv4', d.ip],
    { stdio: ['ignore', 'ignore', 'inherit'] });
    await eventually(async () => {
      if ((await unixSocketRequest(d.socket, 'GET', '/v1/healthz')).body.status !== 'ok') throw new Error(`${node}'s agent is not ready`);
    }, 30000);
  }

  /** A pod sandbox: a network namespace, and its node's conflist with the pod's labels (args.cni.labels). */
  sandbox(spec: PodSpec, i: number): { at: Attachment; list: Conflist } {
    const name = `idp-${this.tag}-${i}`;
    execFileSync('ip', ['netns', 'add', name]);
    this.netnsNames.push(name);
    const containerId = `${this.tag}c0ffee${String(i).padStart(4, '0')}`;
    const base = this.nodes[spec.node]!.list;
    const labels = Object.entries(spec.labels).map(([key, value]) => ({ key, value }));
    const list = { ...base, plugins: [base.plugins[0]!, { ...base.plugins[1]!, args: { cni: { labels } } }] };
    return { at: { containerId, netns: `/var/run/netns/${name}`, ifname: 'eth0', args: podArgs(spec.ns, spec.pod, containerId) }, list };
  }

  /** Deletes a sandbox's network namespace (its veth goes with it). */
  deleteNetns(at: Attachment): void {
    const name = at.netns.split('/').pop()!;
    execFileSync('ip', ['netns', 'del', name]);
    this.netnsNames.splice(this.netnsNames.indexOf(name), 1);
  }

  private lookup(node: string, map: string, key: Uint8Array): Uint8Array | null {
    return lookupPinned(join(this.nodes[node]!.bpffs, 'tc/globals', map), key);
  }

  lxcOf(node: string, ip: string) {
    const v = this.lookup(node, 'cilium_lxc', encodeLxcKey(ip));
    return v && decodeLxcValue(v);
  }

  ipcacheOf(node: string, ip: string) {
    const v = this.lookup(node, 'cilium_ipcache_v2', encodeIpcacheKey(`${ip}/32`));
    return v && decodeIpcacheValue(v);
  }

  policyMapPath(node: string, endpointId: number): string {
    return join(this.nodes[node]!.bpffs, 'tc/globals', `cilium_policy_v2_${String(endpointId).padStart(5, '0')}`);
  }

  /** An endpoint's policy map as bpftool dumps it: key hex → value hex. */
  policyMapOf(node: string, endpointId: number): Record<string, string> {
    const entries = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', this.policyMapPath(node, endpointId)]).toString()) as { key: string[]; value: string[] }[];
    const text = (bytes: string[]) => bytes.map((b) => b.replace(/^0x/, '').padStart(2, '0')).join('');
    return Object.fromEntries(entries.map((e) => [text(e.key), text(e.value)]));
  }

  /** What the control plane says the endpoint's policy map holds. */
  async wantedPolicyMap(node: string, ref: string): Promise<Record<string, string>> {
    const policy = await this.api('GET', `/nodes/${node}/endpoints/${ref}/policy`);
    return Object.fromEntries((policy.entries as { key: string; value: string }[]).map((e) => [e.key, e.value]));
  }

  /** Stops the agents and the control plane; removes namespaces, bridges and bpffs mounts. */
  async stop(): Promise<void> {
    for (const d of Object.values(this.nodes)) {
      if (d.agent && d.agent.exitCode === null) {
        const exited = new Promise((r) => d.agent!.once('exit', r));
        d.agent.kill('SIGTERM');
        await exited;
      }
    }
    await this.dev?.stop();
    const quietly = (args: string[]) => {
      try {
        execFileSync(args[0]!, args.slice(1), { stdio: 'ignore' });
      } catch {
        // not there
      }
    };
    for (const name of this.netnsNames) quietly(['ip', 'netns', 'del', name]);
    for (const d of Object.values(this.nodes)) quietly(['ip', 'link', 'del', (d.list.plugins[0] as { bridge: string }).bridge]);
    for (const m of this.mounts) execFileSync('umount', [m]);
  }
}
