// As root: the reference datapath's loader fails closed. It attaches only with the agent's maps
// pinned in the agent's layout: a missing policy map or a map of another layout fails loudly,
// nothing is attached, and no map is created in their place.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfBackend } from '../../src/datapath/backends/bpf.js';
import { PinRecord } from '../../src/datapath/backends/pin-record.js';
import { endpointMap, IPCACHE_MAP, POLICY_MAPS } from '../../src/datapath/maps.js';
import { ReferenceDatapath } from '../../src/datapath/reference-datapath.js';
import { requireRootOrSkip } from './root.js';

const canRun = requireRootOrSkip('the reference datapath loader');
const work = mkdtempSync(join(tmpdir(), 'idplane-refdp-loader-'));
const bpffs = join(work, 'bpffs');
const globals = join(bpffs, 'tc/globals');
const IFNAME = 'rdl-host';
let backend: BpfBackend;
let datapath: ReferenceDatapath;

const filters = () => execFileSync('tc', ['filter', 'show', 'dev', IFNAME, 'egress']).toString() + execFileSync('tc', ['filter', 'show', 'dev', IFNAME, 'ingress']).toString();

describe.skipIf(!canRun)('the reference datapath loader (root)', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', '--silent', 'build:bpf'], { cwd: resolve(import.meta.dirname, '../..'), stdio: 'ignore' });
    mkdirSync(bpffs, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    execFileSync('ip', ['link', 'add', IFNAME, 'type', 'veth', 'peer', 'name', 'rdl-pod']);
    backend = new BpfBackend(globals, new PinRecord(join(work, 'state')));
    backend.openMap(IPCACHE_MAP);
    datapath = new ReferenceDatapath({ object: resolve(import.meta.dirname, '../../build/bpf/reference.o'), pinDir: globals, loadDir: join(bpffs, 'idplane'), backend });
  });

  afterAll(() => {
    backend?.close();
    execFileSync('ip', ['link', 'delete', IFNAME], { stdio: 'ignore' });
    execFileSync('umount', [bpffs]);
  });

  it('refuses an endpoint whose policy map is not pinned, attaching nothing and creating no map', async () => {
    await expect(datapath.attach(7, IFNAME)).rejects.toThrow(/cilium_policy_v2_00007 is not pinned/);
    expect(existsSync(join(globals, 'cilium_policy_v2_00007'))).toBe(false);
    expect(filters()).not.toMatch(/container/);
  });

  it('refuses a policy map of another layout, naming both layouts', async () => {
    execFileSync('bpftool', ['map', 'create', join(globals, 'cilium_policy_v2_00008'), 'type', 'lpm_trie', 'key', '16', 'value', '8', 'entries', '16384', 'name', 'drift', 'flags', '1']);
    await expect(datapath.attach(8, IFNAME)).rejects.toThrow(/another layout \(lpm_trie, key 16 B.*must be lpm_trie, key 12 B/);
    expect(filters()).not.toMatch(/container/);
  });

  it('attaches with the maps in place, and replaces its programs in place when attached again', async () => {
    backend.openMap(endpointMap(POLICY_MAPS, 9));
    await datapath.attach(9, IFNAME);
    const first = filters();
    expect(first).toMatch(/to_container/);
    expect(first).toMatch(/from_container/);
    await datapath.attach(9, IFNAME);
    // One filter per hook still, now with the new programs.
    expect(filters().match(/ name \w+_container /g)).toHaveLength(2);
    expect(filters()).not.toBe(first);
    await datapath.detach(9, IFNAME);
    expect(filters()).not.toMatch(/container/);
    expect(datapath.attached(9)).toBe(false);
  });

  it("reads each endpoint's counters, and removes those of an endpoint whose policy map the agent removed", async () => {
    for (const id of [10, 11]) backend.openMap(endpointMap(POLICY_MAPS, id));
    await datapath.attach(10, IFNAME);
    await datapath.attach(11, IFNAME);
    expect(datapath.counters().filter((c) => c.endpoint === 10)).toEqual([
      { endpoint: 10, direction: 'ingress', verdict: 'allow', packets: 0 },
      { endpoint: 10, direction: 'ingress', verdict: 'drop', packets: 0 },
      { endpoint: 10, direction: 'egress', verdict: 'allow', packets: 0 },
      { endpoint: 10, direction: 'egress', verdict: 'drop', packets: 0 },
    ]);
    // The endpoint went without a local delete: the agent removed its policy map only.
    backend.removeMap(endpointMap(POLICY_MAPS, 10));
    expect(new Set(datapath.counters().map((c) => c.endpoint))).toEqual(new Set([11]));
    expect(existsSync(join(globals, 'idplane_datapath_counters_00010'))).toBe(false);
    await datapath.detach(11, IFNAME);
  });
});
