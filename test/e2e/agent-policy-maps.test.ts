// As root, with real pinned maps: the agent writes `cilium_policy_v2_<endpoint id>` for each of
// its endpoints, read back with bpftool and compared byte for byte with the endpoint's policy as
// the API computes it, through a policy change, an endpoint delete and a restart; `cleanup`
// removes the policy maps it pinned.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, spawnAgent, type AgentProcess } from './agent-process.js';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, putCluster } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const canRun = requireRootOrSkip('per-endpoint policy maps with real BPF maps');
const CLUSTER = 'e2e-policy-maps';
const work = mkdtempSync(join(tmpdir(), 'idplane-policy-maps-'));
const bpffs = join(work, 'bpffs');
const pinDir = join(bpffs, 'tc/globals');
const stateDir = join(work, 'state');
let dev: WranglerDev;
let agent: AgentProcess | undefined;
let mounted = false;
const api = clusterApi(() => dev, CLUSTER);

const policyMapName = (id: number) => `cilium_policy_v2_${String(id).padStart(5, '0')}`;
const policyMapPins = () => readdirSync(pinDir).filter((n) => n.startsWith('cilium_policy_v2_')).sort();

function startAgent(): AgentProcess {
  agent = spawnAgent(['run', '--url', dev.url, '--cluster', CLUSTER, '--node', 'node-a', '--token-file', join(work, 'token'), '--pin-dir', pinDir,
    '--state-dir', stateDir, '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.86.1']);
  return agent;
}

/** A map's entries as bpftool dumps them: key hex → value hex. */
function dumpHex(name: string): Record<string, string> {
  const entries = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', join(pinDir, name)]).toString()) as { key: string[]; value: string[] }[];
  const hex = (bytes: string[]) => bytes.map((b) => b.replace(/^0x/, '').padStart(2, '0')).join('');
  return Object.fromEntries(entries.map((e) => [hex(e.key), hex(e.value)]));
}

/** What the control plane says an endpoint's map must hold. */
async function wantedPolicyMap(id: number): Promise<Record<string, string>> {
  const policy = await api('GET', `/nodes/node-a/endpoints/${id}/policy`);
  return Object.fromEntries((policy.entries as { key: string; value: string }[]).map((e) => [e.key, e.value]));
}

/** The ipcache entry of a /32 as [identity, tunnel endpoint] (bpftool's dump parsed). */
function ipcacheEntry(ip: string): [number, string] | undefined {
  const entries = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', join(pinDir, 'cilium_ipcache_v2')]).toString()) as { key: string[]; value: string[] }[];
  const found = entries.map((e) => ({ k: e.key.map((h) => parseInt(h, 16)), v: e.value.map((h) => parseInt(h, 16)) })).find((e) => e.k[0] === 64 && e.k.slice(8, 12).join('.') === ip);
  return found && [found.v[0]! | (found.v[1]! << 8) | (found.v[2]! << 16), found.v.slice(4, 8).join('.')];
}

const web = (port: string) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'default' },
  spec: {
    endpointSelector: { matchLabels: { app: 'web' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port, protocol: 'TCP' }] }] }],
    egressDeny: [{ toCIDR: ['203.0.113.0/24'] }],
  },
});

const createPod = (id: number, app: string) =>
  api('PUT', `/nodes/node-a/endpoints/${id}`, { labels: [`k8s:app=${app}`], 'k8s-namespace': 'default', addressing: { ipv4: `10.86.0.${id}` }, 'sync-build-endpoint': true });

describe.skipIf(!canRun)('per-endpoint policy maps (root, real BPF maps)', () => {
  beforeAll(async () => {
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    mkdirSync(bpffs);
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    mounted = true;
    await api('PUT', '/nodes/node-b', { ipv4: '192.168.86.2' });
    await startAgent().waitForLog('maps in sync; following the feed');
  }, 120000);

  afterAll(async () => {
    await agent?.stop('SIGTERM');
    await dev?.stop();
    if (mounted) execFileSync('umount', [bpffs]);
  });

  it("writes each endpoint's map equal to its policy, rewrites it on a policy change, and removes it with the endpoint", async () => {
    await api('PUT', '/policies/default/web', web('80'));
    for (const [id, app] of [[1, 'web'], [2, 'web'], [3, 'client']] as const) await createPod(id, app);
    await eventually(async () => {
      for (const id of [1, 2, 3]) expect(dumpHex(policyMapName(id))).toEqual(await wantedPolicyMap(id));
    });
    const show = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', join(pinDir, policyMapName(1))]).toString()) as Record<string, unknown>;
    expect([show.type, show.bytes_key, show.bytes_value, show.max_entries, show.flags]).toEqual(['lpm_trie', 12, 8, 16384, 1]);
    const before = dumpHex(policyMapName(1));
    // web's map: TCP/80 from client (its identity, P=24), and the CIDR identity's egress deny.
    const client = (await api('GET', '/nodes/node-a/endpoints/3')).identity.id as number;
    const clientHex = Buffer.alloc(4);
    clientHex.writeUInt32LE(client);
    expect(before[`40000000${clientHex.toString('hex')}00060050`]).toBe('0000c00000000000');
    expect(Object.values(before)).toContain('0000010000000000');

    await api('PUT', '/policies/default/web', web('8080'));
    await eventually(async () => {
      for (const id of [1, 2, 3]) expect(dumpHex(policyMapName(id))).toEqual(await wantedPolicyMap(id));
    });
    expect(dumpHex(policyMapName(1))).not.toEqual(before);
    expect(dumpHex(policyMapName(1))[`40000000${clientHex.toString('hex')}00061f90`]).toBe('0000c00000000000');

    await api('DELETE', '/nodes/node-a/endpoints/2');
    await eventually(() => expect(policyMapPins()).toEqual([policyMapName(1), policyMapName(3)]));
  });

  it("holds the node's own address as host (1) and the other node's as remote-node (6), without tunnel", () => {
    expect(ipcacheEntry('192.168.86.1')).toEqual([1, '0.0.0.0']);
    expect(ipcacheEntry('192.168.86.2')).toEqual([6, '0.0.0.0']);
  });

  it('after a restart, removes the maps of endpoints that no longer exist and fills the maps of those created meanwhile', async () => {
    expect(await agent!.stop('SIGTERM')).toBe(0);
    await api('DELETE', '/nodes/node-a/endpoints/3');
    await createPod(4, 'web');
    // A map left behind for an endpoint the feed will never mention again (deleted before its last run).
    execFileSync('bpftool', ['map', 'create', join(pinDir, policyMapName(99)), 'type', 'lpm_trie', 'key', '12', 'value', '8', 'entries', '16384', 'flags', '1', 'name', 'stale']);
    expect(policyMapPins()).toEqual([policyMapName(1), policyMapName(3), policyMapName(99)]);
    await startAgent().waitForLog('maps in sync; following the feed');
    expect(policyMapPins()).toEqual([policyMapName(1), policyMapName(4)]);
    for (const id of [1, 4]) expect(dumpHex(policyMapName(id))).toEqual(await wantedPolicyMap(id));
  });

  it('cleanup removes the policy maps it pinned with the others', async () => {
    expect(await agent!.stop('SIGTERM')).toBe(0);
    const out = await promisify(execFile)(process.execPath, [AGENT_BIN, 'cleanup', '--state-dir', stateDir]);
    const removed = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((l) => l.msg === 'removed pinned map').map((l) => l.path).sort();
    expect(removed).toEqual([join(pinDir, 'cilium_ipcache_v2'), join(pinDir, 'cilium_lxc'), join(pinDir, policyMapName(1)), join(pinDir, policyMapName(4))]);
    expect(existsSync(join(pinDir, policyMapName(1)))).toBe(false);
    expect(policyMapPins()).toEqual([]);
  });
});
