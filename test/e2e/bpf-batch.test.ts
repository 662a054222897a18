// As root, on real pinned maps: the batch commands (BPF_MAP_UPDATE_BATCH / LOOKUP_BATCH) leave
// the ipcache trie and the lxc hash exactly as one bpf(2) call per element does, across several
// batches, with updates over existing entries and deletes in between, whether the puts come one
// operation each or as a whole entry set (put-set); the kernel's answer on
// batch support is read right (yes for these maps here, no for a map type without batch ops).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexOf } from '../../src/datapath/backends/backend.js';
import { BATCH_CAPACITY, BpfBatch } from '../../src/datapath/backends/bpf-batch.js';
import { BpfNative } from '../../src/datapath/backends/bpf-native.js';
import { BpfSyscalls } from '../../src/datapath/backends/bpf-syscall.js';
import { EntrySet } from '../../src/datapath/entry-set.js';
import { BpfBackend } from '../../src/datapath/backends/bpf.js';
import { PinRecord } from '../../src/datapath/backends/pin-record.js';
import { encodeIpcacheKey, encodeIpcacheValue } from '../../src/datapath/layout/ipcache.js';
import { encodeLxcKey, encodeLxcValue } from '../../src/datapath/layout/lxc.js';
import { IPCACHE_MAP, LXC_MAP, NODE_MAPS, type MapRef } from '../../src/datapath/maps.js';
import { applyMapOps, readMaps } from '../../src/shim/agent/apply.js';
import type { MapOp } from '../../src/shim/agent/plan.js';
import { requireRootOrSkip } from './root.js';

const canRun = requireRootOrSkip('batch map commands on real BPF maps');
const work = mkdtempSync(join(tmpdir(), 'idplane-batch-'));
const bpffs = join(work, 'bpffs');
let mounted = false;
let dirs = 0;

function backend(batch: boolean): BpfBackend {
  dirs += 1;
  return new BpfBackend(join(bpffs, `d${dirs}`), new PinRecord(join(work, `state${dirs}`)), { batch });
}

/** Every entry as `key=value` hex, sorted: the map's contents whatever the read order. */
function contents(b: BpfBackend, map: MapRef): string[] {
  return b.entries(map).map(([k, v]) => `${hexOf(k)}=${hexOf(v)}`).sort();
}

/** As bpftool reads the pinned map. */
function bpftoolContents(b: BpfBackend, map: MapRef): string[] {
  const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', `${b.pinDir}/${map.name}`], { maxBuffer: 1 << 28 }).toString()) as { key: string[]; value: string[] }[];
  const hex = (bytes: string[]) => bytes.map((x) => x.replace(/^0x/, '')).join('');
  return dump.map((e) => `${hex(e.key)}=${hex(e.value)}`).sort();
}

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const ipcachePut = (i: number, identity: number): MapOp => ({
  map: IPCACHE_MAP, kind: 'put', key: encodeIpcacheKey(`${ip(i)}/32`), value: encodeIpcacheValue({ identity, tunnelEndpoint: i % 2 ? '192.168.0.2' : null, encryptKey: 0 }),
});
const lxcPut = (i: number): MapOp => ({
  map: LXC_MAP, kind: 'put', key: encodeLxcKey(ip(i)), value: encodeLxcValue({ ifindex: i, lxcId: i & 0xffff, flags: 0, mac: null, nodeMac: null, secId: 256 + i, parentIfindex: 0 }),
});

/** More entries than one batch holds, runs of puts broken by deletes, and a second pass over the same keys. */
function workload(): MapOp[] {
  const n = 2 * BATCH_CAPACITY + 123;
  const ops: MapOp[] = [];
  for (let i = 0; i < n; i++) ops.push(ipcachePut(i, 256 + (i % 7)));
  for (let i = 0; i < 3000; i++) ops.push(lxcPut(i));
  for (let i = 0; i < n; i += 97) ops.push({ map: IPCACHE_MAP, kind: 'delete', key: encodeIpcacheKey(`${ip(i)}/32`) });
  for (let i = 0; i < n; i += 3) ops.push(ipcachePut(i, 1000 + i));
  ops.push({ map: IPCACHE_MAP, kind: 'put', key: encodeIpcacheKey('10.0.0.0/8'), value: encodeIpcacheValue({ identity: 2, tunnelEndpoint: null, encryptKey: 0 }) });
  return ops;
}

describe.skipIf(!canRun)('batch map commands (root, real BPF maps)', () => {
  beforeAll(() => {
    mkdirSync(bpffs);
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    mounted = true;
  });

  afterAll(() => {
    if (mounted) execFileSync('umount', [bpffs]);
  });

  it('leaves the ipcache trie and the lxc hash as one call per element does, and reads them back the same', () => {
    const batched = backend(true);
    const single = backend(false);
    const ops = workload();
    expect(applyMapOps(batched, ops)).toBe(ops.length);
    applyMapOps(single, ops);
    for (const map of NODE_MAPS) {
      const want = contents(single, map);
      expect(want.length).toBeGreaterThan(map === IPCACHE_MAP ? 2 * BATCH_CAPACITY : 2999);
      expect(contents(batched, map)).toEqual(want);
      expect(bpftoolContents(batched, map)).toEqual(want);
    }
    const read = (b: BpfBackend) => readMaps(b, NODE_MAPS).map(({ map, entries }) => ({ map: map.name, entries: entries.entries().map(([k, v]) => `${hexOf(k)}=${hexOf(v)}`).sort() }));
    expect(read(batched)).toEqual(read(single));
    batched.close();
    single.close();
  });

  it('stops a batch at an entry the kernel refuses, with the entries before it written, as element calls do', () => {
    const bad: MapOp = { map: IPCACHE_MAP, kind: 'put', key: Uint8Array.from({ length: 24 }, () => 0xff), value: new Uint8Array(24) };
    const ops = [ipcachePut(1, 300), ipcachePut(2, 301), bad, ipcachePut(3, 302)];
    const [batched, single] = [backend(true), backend(false)];
    expect(() => applyMapOps(batched, ops)).toThrow(/map-update failed: errno 22/);
    expect(() => applyMapOps(single, ops)).toThrow(/map-update failed: errno 22/);
    expect(contents(batched, IPCACHE_MAP)).toEqual(contents(single, IPCACHE_MAP));
    expect(contents(batched, IPCACHE_MAP)).toHaveLength(2);
    batched.close();
    single.close();
  });

  /** A put-set of the workload's ipcache puts (several batches), then its other operations. */
  function asPutSet(ops: MapOp[]): MapOp[] {
    const set = new EntrySet(IPCACHE_MAP.layout.keySize, IPCACHE_MAP.layout.valueSize);
    const puts = ops.filter((op) => op.kind === 'put' && op.map === IPCACHE_MAP) as (MapOp & { kind: 'put' })[];
    for (const op of puts) set.set(op.key, op.value);
    return [{ map: IPCACHE_MAP, kind: 'put-set', entries: set }, ...ops.filter((op) => !puts.includes(op as MapOp & { kind: 'put' }))];
  }

  it('writes a put-set across several batches as element calls do', () => {
    const [batched, single] = [backend(true), backend(false)];
    const ops = asPutSet(workload());
    applyMapOps(batched, ops);
    applyMapOps(single, ops);
    const want = contents(single, IPCACHE_MAP);
    expect(want.length).toBeGreaterThan(2 * BATCH_CAPACITY);
    expect(contents(batched, IPCACHE_MAP)).toEqual(want);
    expect(bpftoolContents(batched, IPCACHE_MAP)).toEqual(want);
    batched.close();
    single.close();
  });

  it('stops a put-set at an entry the kernel refuses, with the entries before it written, as element calls do', () => {
    const set = new EntrySet(IPCACHE_MAP.layout.keySize, IPCACHE_MAP.layout.valueSize);
    const put = (op: MapOp) => op.kind === 'put' && set.set(op.key, op.value);
    for (let i = 0; i < BATCH_CAPACITY + 5; i++) put(ipcachePut(i, 300));
    set.set(Uint8Array.from({ length: 24 }, () => 0xff), new Uint8Array(24));
    put(ipcachePut(BATCH_CAPACITY + 5, 302));
    const [batched, single] = [backend(true), backend(false)];
    expect(() => applyMapOps(batched, [{ map: IPCACHE_MAP, kind: 'put-set', entries: set }])).toThrow(/map-update failed: errno 22/);
    expect(() => applyMapOps(single, [{ map: IPCACHE_MAP, kind: 'put-set', entries: set }])).toThrow(/map-update failed: errno 22/);
    expect(contents(batched, IPCACHE_MAP)).toEqual(contents(single, IPCACHE_MAP));
    expect(contents(batched, IPCACHE_MAP)).toHaveLength(BATCH_CAPACITY + 5);
    batched.close();
    single.close();
  });

  it.each([
    { name: 'the ipcache (LPM trie)', create: IPCACHE_MAP.layout, want: true },
    { name: 'the lxc map (hash)', create: LXC_MAP.layout, want: true },
    { name: 'a queue, which has no batch commands', create: { type: 22, keySize: 0, valueSize: 4, maxEntries: 4, flags: 0 }, want: false },
  ])("reads the kernel's answer on batch support for $name", ({ create, want }) => {
    const native = new BpfNative();
    const sys = new BpfSyscalls(native);
    const fd = sys.createMap('batch_probe', create);
    try {
      expect(new BpfBatch(native).probe(fd)).toBe(want);
    } finally {
      sys.close(fd);
    }
  });
});
