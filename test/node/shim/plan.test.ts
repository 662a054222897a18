// Planning map operations from feed events and snapshots.
import { describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../../src/core/feed.js';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { decodeIpcacheKey, decodeIpcacheValue, encodeIpcacheKey, encodeIpcacheValue } from '../../../src/datapath/layout/ipcache.js';
import { decodeLxcKey, decodeLxcValue } from '../../../src/datapath/layout/lxc.js';
import { IPCACHE_MAP, NODE_MAPS } from '../../../src/datapath/maps.js';
import { applyMapOps, readMaps } from '../../../src/shim/agent/apply.js';
import { desiredFromSnapshot, planEvents, planReconcile, snapshotPuts, type MapOp } from '../../../src/shim/agent/plan.js';

/** Ops in readable form. */
function readable(ops: MapOp[]) {
  return ops.map((op) => {
    const map = op.map === IPCACHE_MAP ? 'ipcache' : 'lxc';
    const key = map === 'ipcache' ? decodeIpcacheKey(op.key).prefix : decodeLxcKey(op.key);
    if (op.kind === 'delete') return `${map} delete ${key}`;
    if (map === 'ipcache') {
      const v = decodeIpcacheValue(op.value);
      return `ipcache put ${key} id=${v.identity} tunnel=${v.tunnelEndpoint ?? '-'}`;
    }
    const v = decodeLxcValue(op.value);
    return `lxc put ${key} ep=${v.lxcId} id=${v.secId} if=${v.ifindex}`;
  });
}

const up = (prefix: string, identity: number, node: string, hostIp: string | null = '192.168.0.2'): FeedEvent =>
  ({ type: 'ipcache-upsert', prefix, identity, 'host-ip': hostIp, node, endpoint: 1 });

describe('planEvents', () => {
  it.each([
    { name: 'remote pod → tunnel to its node', events: [up('10.0.0.1/32', 300, 'node-b')], want: ['ipcache put 10.0.0.1/32 id=300 tunnel=192.168.0.2'] },
    { name: 'own pod → no tunnel', events: [up('10.0.0.2/32', 301, 'node-a')], want: ['ipcache put 10.0.0.2/32 id=301 tunnel=-'] },
    { name: 'delete', events: [{ type: 'ipcache-delete', prefix: 'fd00::1/128', node: 'node-b', endpoint: 1 } as FeedEvent], want: ['ipcache delete fd00::1/128'] },
    {
      name: 'own endpoint → lxc per address',
      events: [{ type: 'endpoint-upsert', node: 'node-a', id: 5, identity: 302, ipv4: '10.0.0.5', ipv6: 'fd00::5', 'interface-index': 9, mac: null, 'host-mac': null } as FeedEvent],
      want: ['lxc put 10.0.0.5 ep=5 id=302 if=9', 'lxc put fd00::5 ep=5 id=302 if=9'],
    },
    {
      name: "another node's endpoint → nothing in lxc",
      events: [{ type: 'endpoint-upsert', node: 'node-b', id: 5, identity: 302, ipv4: '10.0.0.5', ipv6: null, 'interface-index': 9, mac: null, 'host-mac': null } as FeedEvent],
      want: [],
    },
    { name: 'own endpoint deleted', events: [{ type: 'endpoint-delete', node: 'node-a', id: 5, ipv4: '10.0.0.5', ipv6: null } as FeedEvent], want: ['lxc delete 10.0.0.5'] },
    { name: 'identity and node events touch no map', events: [{ type: 'identity-add', id: 300, labels: [] }, { type: 'node-delete', name: 'x' }] as FeedEvent[], want: [] },
    { name: 'CIDR prefix → ipcache, no tunnel', events: [{ type: 'prefix-upsert', prefix: '203.0.113.0/24', identity: 16777217 } as FeedEvent], want: ['ipcache put 203.0.113.0/24 id=16777217 tunnel=-'] },
    { name: 'CIDR prefix gone', events: [{ type: 'prefix-delete', prefix: '203.0.113.0/24' } as FeedEvent], want: ['ipcache delete 203.0.113.0/24'] },
    {
      name: 'policy events are skipped without failing (this agent writes no policy maps yet)',
      events: [
        { type: 'policy-upsert', identity: 300, 'policy-revision': 2, 'ingress-enforced': true, 'egress-enforced': false, entries: [{ key: '00'.repeat(12), value: '00'.repeat(8) }] },
        { type: 'policy-delete', identity: 300 },
        up('10.0.0.3/32', 300, 'node-b'),
      ] as FeedEvent[],
      want: ['ipcache put 10.0.0.3/32 id=300 tunnel=192.168.0.2'],
    },
  ])('$name', ({ events, want }) => {
    expect(readable(planEvents('node-a', events))).toEqual(want);
  });
});

describe('planReconcile', () => {
  it('writes missing and changed entries first, then deletes stale ones, and leaves equal ones alone', () => {
    const backend = new MemoryBackend();
    const put = (prefix: string, identity: number) => backend.put(IPCACHE_MAP, encodeIpcacheKey(prefix), encodeIpcacheValue({ identity, tunnelEndpoint: null, encryptKey: 0 }));
    put('10.0.0.1/32', 300); // unchanged
    put('10.0.0.2/32', 999); // changed
    put('10.0.0.9/32', 301); // stale
    const desired = desiredFromSnapshot('node-a', [
      { prefix: '10.0.0.1/32', identity: 300, node: 'node-a', 'host-ip': null, endpoint: 1 },
      { prefix: '10.0.0.2/32', identity: 302, node: 'node-a', 'host-ip': null, endpoint: 2 },
      { prefix: '10.0.0.3/32', identity: 303, node: 'node-a', 'host-ip': null, endpoint: 3 },
    ], []);
    const ops = planReconcile(readMaps(backend, NODE_MAPS), desired);
    expect(readable(ops)).toEqual(['ipcache put 10.0.0.2/32 id=302 tunnel=-', 'ipcache put 10.0.0.3/32 id=303 tunnel=-', 'ipcache delete 10.0.0.9/32']);
    applyMapOps(backend, ops);
    expect(planReconcile(readMaps(backend, NODE_MAPS), desired)).toEqual([]);
  });
});

describe('snapshotPuts', () => {
  it("writes a CIDR identity's prefix (no node, endpoint or host IP) without a tunnel, as prefix-upsert does", () => {
    const snapshot = [
      { prefix: '10.0.0.7/32', identity: 300, node: 'node-b', 'host-ip': '192.168.0.2', endpoint: 7 },
      { prefix: '203.0.113.0/24', identity: 16777217, node: null, 'host-ip': null, endpoint: null },
    ];
    const ops = [...snapshotPuts('node-a', snapshot, [])];
    expect(readable(ops)).toEqual(['ipcache put 10.0.0.7/32 id=300 tunnel=192.168.0.2', 'ipcache put 203.0.113.0/24 id=16777217 tunnel=-']);
    expect(ops[1]).toEqual(planEvents('node-a', [{ type: 'prefix-upsert', prefix: '203.0.113.0/24', identity: 16777217 }])[0]);
  });
});
