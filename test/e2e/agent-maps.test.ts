// As root, with real pinned maps: the agent refuses a map of another layout, a per-endpoint policy
// map too (and touches nothing), and `idplane-agent cleanup` removes exactly the pins the agent made.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, spawnAgent } from './agent-process.js';
import { requireRootOrSkip } from './root.js';
import { putCluster } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const canRun = requireRootOrSkip('agent map ownership with real BPF maps');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'idplane-maps-'));
const bpffs = join(work, 'bpffs');
let dev: WranglerDev;
let dirs = 0;
let mounted = false;

/** A fresh pin directory on the test's bpffs and a fresh state directory. */
function freshDirs(): { pinDir: string; stateDir: string } {
  dirs += 1;
  const pinDir = join(bpffs, `d${dirs}`);
  mkdirSync(pinDir);
  return { pinDir, stateDir: join(work, `state${dirs}`) };
}

function bpftool(...args: string[]): any {
  const out = execFileSync('bpftool', ['-j', ...args]).toString();
  return out.trim() === '' ? undefined : JSON.parse(out);
}

/** A map someone else pinned: its id, and one entry in it. */
function pinForeign(path: string, create: string[], key: number, value: number): number {
  execFileSync('bpftool', ['map', 'create', path, ...create, 'name', 'foreign']);
  const keySize = Number(create[create.indexOf('key') + 1]);
  const valueSize = Number(create[create.indexOf('value') + 1]);
  const hex = (n: number, size: number) => Array.from({ length: size }, (_v, i) => (i === 0 ? n : 0).toString(16));
  execFileSync('bpftool', ['map', 'update', 'pinned', path, 'key', 'hex', ...hex(key, keySize), 'value', 'hex', ...hex(value, valueSize)]);
  return bpftool('map', 'show', 'pinned', path).id as number;
}

const agentArgs = (d: { pinDir: string; stateDir: string }, node: string) =>
  ['run', '--url', dev.url, '--cluster', 'e2e-maps', '--node', node, '--token-file', join(work, 'token'), '--pin-dir', d.pinDir,
    '--state-dir', d.stateDir, '--socket', join(d.stateDir, 'agent.sock'), '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.85.1'];

describe.skipIf(!canRun)('map ownership (root, real BPF maps)', () => {
  beforeAll(async () => {
    dev = await startWranglerDev();
    await putCluster(dev, 'e2e-maps');
    writeFileSync(join(work, 'token'), dev.token);
    mkdirSync(bpffs);
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    mounted = true;
  }, 120000);

  afterAll(async () => {
    await dev?.stop();
    if (mounted) execFileSync('umount', [bpffs]);
  });

  it.each([
    {
      name: "Cilium v1.16's ipcache (12-byte value)", map: 'cilium_ipcache_v2', create: ['type', 'lpm_trie', 'key', '24', 'value', '12', 'entries', '512000', 'flags', '1'],
      found: 'lpm_trie, key 24 B, value 12 B, 512000 entries, flags 0x1', expected: 'lpm_trie, key 24 B, value 24 B, 512000 entries, flags 0x1',
    },
    {
      name: 'a hash where the ipcache trie belongs', map: 'cilium_ipcache_v2', create: ['type', 'hash', 'key', '24', 'value', '24', 'entries', '1024'],
      found: 'hash, key 24 B, value 24 B, 1024 entries, flags 0x0', expected: 'lpm_trie, key 24 B, value 24 B, 512000 entries, flags 0x1',
    },
    {
      name: 'an lxc map of another size', map: 'cilium_lxc', create: ['type', 'hash', 'key', '20', 'value', '48', 'entries', '1024'],
      found: 'hash, key 20 B, value 48 B, 1024 entries, flags 0x0', expected: 'hash, key 20 B, value 48 B, 65535 entries, flags 0x0',
    },
    {
      name: 'an endpoint policy map of another size', map: 'cilium_policy_v2_00001', create: ['type', 'lpm_trie', 'key', '12', 'value', '8', 'entries', '1024', 'flags', '1'],
      found: 'lpm_trie, key 12 B, value 8 B, 1024 entries, flags 0x1', expected: 'lpm_trie, key 12 B, value 8 B, 16384 entries, flags 0x1',
    },
  ])('refuses $name with what it found and expects, exits 1 and leaves the map and the cluster untouched', async ({ map, create, found, expected }) => {
    const d = freshDirs();
    const path = join(d.pinDir, map);
    const id = pinForeign(path, create, 7, 9);
    const before = bpftool('map', 'dump', 'pinned', path);
    const a = spawnAgent(agentArgs(d, `node-refuse-${dirs}`));
    expect(await a.exited).toBe(1);
    expect(a.stderr()).toContain(`idplane-agent: ${path} is a map of another layout (${found}); ${map} must be ${expected}. It was left untouched`);
    expect(bpftool('map', 'show', 'pinned', path).id).toBe(id);
    expect(bpftool('map', 'dump', 'pinned', path)).toEqual(before);
    expect(readdirSync(d.pinDir)).toEqual([map]);
    expect(before).toHaveLength(1);
    const nodes = await (await fetch(`${dev.url}/v1/clusters/e2e-maps/nodes`, { headers: { authorization: `Bearer ${dev.token}` } })).json() as { nodes: { name: string }[] };
    expect(nodes.nodes.map((n) => n.name)).not.toContain(`node-refuse-${dirs}`);
  });

  it('refuses a pin directory that is not on a bpf filesystem', async () => {
    const a = spawnAgent(agentArgs({ pinDir: join(work, 'not-bpffs'), stateDir: join(work, 'state-nb') }, 'node-nb'));
    expect(await a.exited).toBe(1);
    expect(a.stderr()).toContain(`${join(work, 'not-bpffs')} is not on a bpf filesystem`);
  });

  it("cleanup removes the agent's pins and only those: not a map pinned beside them, nor one pinned in place of the agent's", async () => {
    const d = freshDirs();
    const neighbour = join(d.pinDir, 'cilium_other');
    const neighbourId = pinForeign(neighbour, ['type', 'hash', 'key', '4', 'value', '4', 'entries', '16'], 1, 2);
    const a = spawnAgent(agentArgs(d, 'node-clean'));
    await a.waitForLog('maps in sync; following the feed');
    expect(await a.stop('SIGTERM')).toBe(0);
    const ipcache = join(d.pinDir, 'cilium_ipcache_v2');
    const lxc = join(d.pinDir, 'cilium_lxc');
    expect(existsSync(ipcache)).toBe(true);
    const lxcId = bpftool('map', 'show', 'pinned', lxc).id as number;
    // Someone replaces the agent's lxc pin with a map of their own (same layout).
    execFileSync('rm', [lxc]);
    const replacementId = pinForeign(lxc, ['type', 'hash', 'key', '20', 'value', '48', 'entries', '65535'], 3, 4);

    const out = await run(process.execPath, [AGENT_BIN, 'cleanup', '--state-dir', d.stateDir]);
    const logs = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; path?: string; reason?: string });
    expect(logs.filter((l) => l.msg === 'removed pinned map').map((l) => l.path)).toEqual([ipcache]);
    expect(logs.filter((l) => l.msg === 'not removed')).toEqual([expect.objectContaining({ path: lxc, reason: `it holds map ${replacementId} now, not map ${lxcId} that the agent pinned` })]);
    expect(existsSync(ipcache)).toBe(false);
    expect(bpftool('map', 'show', 'pinned', lxc).id).toBe(replacementId);
    expect(bpftool('map', 'show', 'pinned', neighbour).id).toBe(neighbourId);

    // A second cleanup has nothing left to remove, and the replacement map stays.
    const again = await run(process.execPath, [AGENT_BIN, 'cleanup', '--state-dir', d.stateDir]);
    expect(again.stdout).toContain('"removed":0,"kept":0');
    expect(bpftool('map', 'show', 'pinned', lxc).id).toBe(replacementId);
  });
});
