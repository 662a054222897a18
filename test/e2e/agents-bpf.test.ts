// End to end as root: real workerd (wrangler dev), two node agents writing real pinned BPF maps
// under separate bpffs mounts, read back with bpftool.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRootOrSkip } from './root.js';
import { clusterApi, eventually, putCluster } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const canRun = requireRootOrSkip('agents with real BPF maps');
const AGENT = resolve(import.meta.dirname, '../../dist/idplane-agent.js');
const CLUSTER = 'e2e-bpf';
const work = mkdtempSync(join(tmpdir(), 'idplane-bpf-'));
let dev: WranglerDev;
const agents: Record<string, ChildProcess> = {};
const mounts: string[] = [];
const api = clusterApi(() => dev, CLUSTER);

interface NodeDir {
  bpffs: string;
  state: string;
  ip: string;
}
const nodes: Record<string, NodeDir> = {
  'node-a': { bpffs: join(work, 'a/bpffs'), state: join(work, 'a/state'), ip: '192.168.80.1' },
  'node-b': { bpffs: join(work, 'b/bpffs'), state: join(work, 'b/state'), ip: '192.168.80.2' },
};

function startAgent(node: string): void {
  const d = nodes[node]!;
  const child = spawn(process.execPath, [AGENT, 'run', '--url', dev.url, '--cluster', CLUSTER, '--node', node, '--token-file', join(work, 'token'),
    '--bpffs', d.bpffs, '--state-dir', d.state, '--socket', join(d.state, 'agent.sock'), '--metrics-address', '127.0.0.1:0', '--ipv4', d.ip],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  agents[node] = child;
}

async function killAgent(node: string, signal: NodeJS.Signals): Promise<void> {
  const child = agents[node];
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

const pinned = (node: string, map: string) => join(nodes[node]!.bpffs, 'tc/globals', map);

/** An ipcache key for a /32 in bpftool's hex words. */
function ipcacheKeyHex(ip: string, bits = 32): string[] {
  const prefixlen = 32 + bits;
  return [prefixlen & 0xff, 0, 0, 0, 0, 0, 0, 1, ...ip.split('.').map(Number), ...new Array(12).fill(0)].map((b) => b.toString(16).padStart(2, '0'));
}

/** bpftool map lookup: the value bytes, or null when the key misses. */
function lookup(node: string, ip: string): number[] | null {
  try {
    const out = execFileSync('bpftool', ['-j', 'map', 'lookup', 'pinned', pinned(node, 'cilium_ipcache_v2'), 'key', 'hex', ...ipcacheKeyHex(ip)], { stdio: ['ignore', 'pipe', 'pipe'] });
    return (JSON.parse(out.toString()) as { value: string[] }).value.map((h) => parseInt(h, 16));
  } catch {
    return null;
  }
}

/** Every ipcache entry of a node's map as prefix → identity, read with bpftool. */
function dumpIpcache(node: string): Record<string, number> {
  const out = execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', pinned(node, 'cilium_ipcache_v2')]).toString();
  const entries = JSON.parse(out) as { key: string[]; value: string[] }[];
  return Object.fromEntries(entries.map((e) => {
    const k = e.key.map((h) => parseInt(h, 16));
    const v = e.value.map((h) => parseInt(h, 16));
    return [`${k.slice(8, 12).join('.')}/${k[0]! - 32}`, v[0]! | (v[1]! << 8) | (v[2]! << 16) | (v[3]! << 24)];
  }));
}

/** What `node`'s ipcache must hold: the cluster's, plus every node's address (its own as host, 1; others as remote-node, 6). */
async function wantedIpcache(node: string): Promise<Record<string, number>> {
  const r = await api('GET', '/ipcache');
  const list = (await api('GET', '/nodes')).nodes as { name: string; ipv4: string }[];
  return {
    ...Object.fromEntries(r.entries.map((e: { prefix: string; identity: number }) => [e.prefix, e.identity])),
    ...Object.fromEntries(list.map((n) => [`${n.ipv4}/32`, n.name === node ? 1 : 6])),
  };
}

describe.skipIf(!canRun)('two agents writing real BPF maps', () => {
  beforeAll(async () => {
    dev = await startWranglerDev();
    await putCluster(dev, CLUSTER);
    writeFileSync(join(work, 'token'), dev.token);
    for (const d of Object.values(nodes)) {
      mkdirSync(d.bpffs, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', d.bpffs]);
      mounts.push(d.bpffs);
    }
    startAgent('node-a');
    startAgent('node-b');
    await eventually(async () => {
      const list = await api('GET', '/nodes');
      expect(list.nodes.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b']);
    }, 30000);
  }, 120000);

  afterAll(async () => {
    for (const node of Object.keys(agents)) await killAgent(node, 'SIGTERM');
    await dev?.stop();
    for (const m of mounts) execFileSync('umount', [m]);
  });

  it("puts node-a's pods into node-b's cilium_ipcache_v2 (LPM: the /32 hits, a neighbour misses) and removes them", async () => {
    const ep = await api('PUT', '/nodes/node-a/endpoints/cilium-local:0', {
      labels: ['k8s:app=web'], 'k8s-namespace': 'default', addressing: { ipv4: '10.80.0.1' }, 'interface-index': 12, mac: '0a:58:0a:50:00:01',
      'sync-build-endpoint': true,
    });
    const id = ep.identity.id as number;
    await eventually(() => expect(lookup('node-b', '10.80.0.1')).not.toBeNull());
    const value = lookup('node-b', '10.80.0.1')!;
    expect(value[0]! | (value[1]! << 8)).toBe(id);
    expect(value.slice(4, 8)).toEqual([192, 168, 80, 1]); // tunnel endpoint: node-a
    expect(value[23]).toBe(2); // flag_has_tunnel_ep
    expect(lookup('node-b', '10.80.0.2')).toBeNull();
    // node-a's own pod: no tunnel, and an lxc entry with its endpoint ID and identity.
    await eventually(() => expect(lookup('node-a', '10.80.0.1')?.[23]).toBe(0));
    const lxc = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', pinned('node-a', 'cilium_lxc')]).toString()) as { value: string[] }[];
    expect(lxc).toHaveLength(1);
    const lv = lxc[0]!.value.map((h) => parseInt(h, 16));
    expect([lv[0], lv[6], lv[32]! | (lv[33]! << 8)]).toEqual([12, ep.id, id]);

    await api('DELETE', `/nodes/node-a/endpoints/${ep.id}`);
    await eventually(() => expect(lookup('node-b', '10.80.0.1')).toBeNull());
  });

  it('with wait-for-nodes, the create answers only once both agents have the entry in their maps', async () => {
    for (let i = 1; i <= 5; i++) {
      const ep = await api('PUT', '/nodes/node-a/endpoints/cilium-local:0', {
        labels: [`k8s:app=strict-${i}`], 'k8s-namespace': 'default', addressing: { ipv4: `10.84.0.${i}` }, 'sync-build-endpoint': true, 'wait-for-nodes': true,
      });
      expect(ep['lagging-nodes']).toEqual([]);
      // No waiting here: the answer came after both agents applied the revision.
      expect(lookup('node-b', `10.84.0.${i}`)?.slice(0, 2)).toEqual([ep.identity.id & 0xff, ep.identity.id >> 8]);
      expect(lookup('node-a', `10.84.0.${i}`)).not.toBeNull();
      await api('DELETE', `/nodes/node-a/endpoints/${ep.id}`);
    }
  });

  it("holds each node's address as Cilium's agent writes it: its own as host (1), the other's as remote-node (6), no tunnel", () => {
    const identityAndFlags = (v: number[] | null) => v && [v[0]! | (v[1]! << 8), v.slice(4, 8).join('.'), v[23]];
    expect(identityAndFlags(lookup('node-a', '192.168.80.1'))).toEqual([1, '0.0.0.0', 0]);
    expect(identityAndFlags(lookup('node-a', '192.168.80.2'))).toEqual([6, '0.0.0.0', 0]);
    expect(identityAndFlags(lookup('node-b', '192.168.80.2'))).toEqual([1, '0.0.0.0', 0]);
    expect(identityAndFlags(lookup('node-b', '192.168.80.1'))).toEqual([6, '0.0.0.0', 0]);
  });

  it('loses nothing when an agent is SIGKILLed mid-stream and restarted', async () => {
    const creating = (async () => {
      for (let i = 1; i <= 60; i++) {
        await api('PUT', '/nodes/node-a/endpoints/cilium-local:0', { labels: [`k8s:app=k${i % 3}`], addressing: { ipv4: `10.81.0.${i}` } });
      }
    })();
    await eventually(() => expect(Object.keys(dumpIpcache('node-b')).length).toBeGreaterThan(10));
    await killAgent('node-b', 'SIGKILL');
    await creating;
    await api('DELETE', '/nodes/node-a/endpoints/1');
    startAgent('node-b');
    await eventually(async () => expect(dumpIpcache('node-b')).toEqual(await wantedIpcache('node-b')), 30000);
    expect(Object.keys(dumpIpcache('node-b'))).toHaveLength(59 + 2);
  });

  it('loses nothing when wrangler restarts', async () => {
    const before = await wantedIpcache('node-b');
    await dev.stop({ keepState: true });
    dev = await startWranglerDev({ persistDir: dev.persistDir, token: dev.token, port: dev.port });
    expect(await wantedIpcache('node-b')).toEqual(before);
    await api('PUT', '/nodes/node-a/endpoints/cilium-local:0', { labels: ['k8s:app=after'], addressing: { ipv4: '10.82.0.1' } });
    await eventually(async () => expect(dumpIpcache('node-b')).toEqual(await wantedIpcache('node-b')), 30000);
    expect(dumpIpcache('node-b')['10.82.0.1/32']).toBeDefined();
  });

  it("removes an expired node's entries from the other node's map", async () => {
    await api('PUT', '/nodes/node-c', { ipv4: '192.168.80.3', 'lease-seconds': 2 });
    await api('PUT', '/nodes/node-c/endpoints/1', { labels: ['k8s:app=c'], addressing: { ipv4: '10.83.0.1' } });
    await eventually(() => expect(lookup('node-b', '10.83.0.1')).not.toBeNull());
    expect(lookup('node-b', '192.168.80.3')?.[0]).toBe(6);
    await eventually(() => expect(lookup('node-b', '10.83.0.1')).toBeNull(), 20000);
    await eventually(() => expect(lookup('node-b', '192.168.80.3')).toBeNull());
    expect((await api('GET', '/nodes')).nodes.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b']);
  });

  it('stops cleanly on SIGTERM, keeping its maps pinned', async () => {
    const child = agents['node-b']!;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(dumpIpcache('node-b')).toEqual(await wantedIpcache('node-b'));
  });
});
