// Planning map operations from feed events and snapshots.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/api/endpoints.js';
import type { FeedEvent } from '../../../src/core/feed.js';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { EntrySet } from '../../../src/datapath/entry-set.js';
import { decodeIpcacheKey, decodeIpcacheValue, encodeIpcacheKey, encodeIpcacheValue } from '../../../src/datapath/layout/ipcache.js';
import { decodeLxcKey, decodeLxcValue } from '../../../src/datapath/layout/lxc.js';
import { decodePolicyKey, encodePolicyKey } from '../../../src/datapath/layout/policy.js';
import { endpointMap, IPCACHE_MAP, LXC_MAP, NODE_MAPS, POLICY_MAPS } from '../../../src/datapath/maps.js';
import { applyMapOps, readMaps } from '../../../src/shim/agent/apply.js';
import { NodeView } from '../../../src/shim/agent/node-view.js';
import { planRevision, type MapOp } from '../../../src/shim/agent/plan.js';
import { desiredFromSnapshot, planReconcile, reconcileWithSnapshot } from '../../../src/shim/agent/reconcile.js';

/** Ops in readable form; a policy map's entries by their peer identity, a put-set's entries each on a line after it. */
function readable(ops: Iterable<MapOp>): string[] {
  return [...ops].flatMap((op): string[] => {
    if (op.kind === 'put-set') return [`${op.map.name} put-set:`, ...readable(op.entries.entries().map(([key, value]) => ({ map: op.map, kind: 'put', key, value })))];
    if (op.kind === 'replace') return [`${op.map.name} := [${op.entries.map((e) => decodePolicyKey(Buffer.from(e.key, 'hex')).identity).join(',')}]`];
    if (op.kind === 'remove-map') return [`${op.map.name} removed`];
    const map = op.map === IPCACHE_MAP ? 'ipcache' : 'lxc';
    const key = map === 'ipcache' ? decodeIpcacheKey(op.key).prefix : decodeLxcKey(op.key);
    if (op.kind === 'delete') return [`${map} delete ${key}`];
    if (map === 'ipcache') {
      const v = decodeIpcacheValue(op.value);
      return [`ipcache put ${key} id=${v.identity} tunnel=${v.tunnelEndpoint ?? '-'}`];
    }
    const v = decodeLxcValue(op.value);
    return [`lxc put ${key} ep=${v.lxcId} id=${v.secId} if=${v.ifindex}`];
  });
}

const up = (prefix: string, identity: number, node: string, hostIp: string | null = '192.168.0.2'): FeedEvent =>
  ({ type: 'ipcache-upsert', prefix, identity, 'host-ip': hostIp, node, endpoint: 1 });

const planEvents = (self: string, events: FeedEvent[], view = new NodeView()) => planRevision(self, view, events).ops;

describe('planRevision: ipcache and lxc', () => {
  it.each([
    { name: 'remote pod → tunnel to its node', events: [up('10.0.0.1/32', 300, 'node-b')], want: ['ipcache put 10.0.0.1/32 id=300 tunnel=192.168.0.2'] },
    { name: 'own pod → no tunnel', events: [up('10.0.0.2/32', 301, 'node-a')], want: ['ipcache put 10.0.0.2/32 id=301 tunnel=-'] },
    { name: 'delete', events: [{ type: 'ipcache-delete', prefix: 'fd00::1/128', node: 'node-b', endpoint: 1 } as FeedEvent], want: ['ipcache delete fd00::1/128'] },
    {
      name: 'own endpoint → its policy map (no entries known yet), then lxc per address',
      events: [{ type: 'endpoint-upsert', node: 'node-a', id: 5, identity: 302, ipv4: '10.0.0.5', ipv6: 'fd00::5', 'interface-index': 9, mac: null, 'host-mac': null } as FeedEvent],
      want: ['cilium_policy_v2_00005 := []', 'lxc put 10.0.0.5 ep=5 id=302 if=9', 'lxc put fd00::5 ep=5 id=302 if=9'],
    },
    {
      name: "another node's endpoint → nothing in lxc",
      events: [{ type: 'endpoint-upsert', node: 'node-b', id: 5, identity: 302, ipv4: '10.0.0.5', ipv6: null, 'interface-index': 9, mac: null, 'host-mac': null } as FeedEvent],
      want: [],
    },
    { name: 'own endpoint deleted (then its policy map)', events: [{ type: 'endpoint-delete', node: 'node-a', id: 5, ipv4: '10.0.0.5', ipv6: null } as FeedEvent], want: ['lxc delete 10.0.0.5', 'cilium_policy_v2_00005 removed'] },
    { name: 'identity events and an unknown node going touch no map', events: [{ type: 'identity-add', id: 300, labels: [] }, { type: 'node-delete', name: 'x' }] as FeedEvent[], want: [] },
    { name: 'CIDR prefix → ipcache, no tunnel', events: [{ type: 'prefix-upsert', prefix: '203.0.113.0/24', identity: 16777217 } as FeedEvent], want: ['ipcache put 203.0.113.0/24 id=16777217 tunnel=-'] },
    { name: 'CIDR prefix gone', events: [{ type: 'prefix-delete', prefix: '203.0.113.0/24' } as FeedEvent], want: ['ipcache delete 203.0.113.0/24'] },
  ])('$name', ({ events, want }) => {
    expect(readable(planEvents('node-a', events))).toEqual(want);
  });
});

/** A policy entry allowing a peer identity (any protocol and port, ingress). */
const allowFrom = (identity: number) => ({ key: Buffer.from(encodePolicyKey({ identity, direction: 0, protocol: 0, port: 0, prefixLength: 0 })).toString('hex'), value: '0000000000000000' });
const policyUp = (identity: number, peers: number[]): FeedEvent =>
  ({ type: 'policy-upsert', identity, 'policy-revision': 1, 'ingress-enforced': true, 'egress-enforced': false, entries: peers.map(allowFrom) });
const epUp = (id: number, identity: number, ipv4: string, node = 'node-a'): FeedEvent =>
  ({ type: 'endpoint-upsert', node, id, identity, ipv4, ipv6: null, 'interface-index': 9, mac: null, 'host-mac': null });
const epDown = (id: number, ipv4: string): FeedEvent => ({ type: 'endpoint-delete', node: 'node-a', id, ipv4, ipv6: null });
const nodeUp = (name: string, ipv4: string | null, ipv6: string | null = null): FeedEvent => ({ type: 'node-upsert', name, ipv4, ipv6 });

/** A view holding identity 300's policy (peers 0 and 1) on endpoints 5 and 6, and identity 301's (peer 2) on 7. */
function hostingView(): NodeView {
  const view = new NodeView();
  view.policies.set(300, [allowFrom(0), allowFrom(1)]);
  view.policies.set(301, [allowFrom(2)]);
  view.endpoints.set(5, 300).set(6, 300).set(7, 301);
  return view;
}

/** Applies revisions one after the other, committing each, as the agent does. */
function applyRevisions(view: NodeView, ...revisions: FeedEvent[][]): string[][] {
  return revisions.map((events) => {
    const { ops, draft } = planRevision('node-a', view, events);
    draft.commit();
    return readable(ops);
  });
}

describe('planRevision: per-endpoint policy maps', () => {
  it.each<{ name: string; events: FeedEvent[]; want: string[] }>([
    {
      name: "a new endpoint and its identity's first policy in one revision: the map complete before the lxc entry",
      events: [epUp(8, 302, '10.0.0.8'), policyUp(302, [0, 4])],
      want: ['cilium_policy_v2_00008 := [0,4]', 'lxc put 10.0.0.8 ep=8 id=302 if=9'],
    },
    {
      name: 'a new endpoint of an identity the node hosts: filled from the entries it holds',
      events: [epUp(9, 300, '10.0.0.9')],
      want: ['cilium_policy_v2_00009 := [0,1]', 'lxc put 10.0.0.9 ep=9 id=300 if=9'],
    },
    {
      name: 'a policy change: every endpoint of the identity gets the complete new set, others untouched',
      events: [policyUp(300, [1, 3])],
      want: ['cilium_policy_v2_00005 := [1,3]', 'cilium_policy_v2_00006 := [1,3]'],
    },
    {
      name: "an endpoint changing identity gets the new identity's entries before its lxc entry says so",
      events: [epUp(5, 301, '10.0.0.5')],
      want: ['cilium_policy_v2_00005 := [2]', 'lxc put 10.0.0.5 ep=5 id=301 if=9'],
    },
    {
      name: 'an endpoint upserted again with the same identity (a label change that kept it): its map stays',
      events: [epUp(6, 300, '10.0.0.6')],
      want: ['lxc put 10.0.0.6 ep=6 id=300 if=9'],
    },
    {
      name: 'an endpoint gone: its lxc entry first, then its map',
      events: [epDown(7, '10.0.0.7'), { type: 'policy-delete', identity: 301 }],
      want: ['lxc delete 10.0.0.7', 'cilium_policy_v2_00007 removed'],
    },
    {
      name: 'an endpoint deleted and created again in one revision keeps a map, with its new identity',
      events: [epDown(7, '10.0.0.7'), epUp(7, 300, '10.0.0.17')],
      want: ['cilium_policy_v2_00007 := [0,1]', 'lxc delete 10.0.0.7', 'lxc put 10.0.0.17 ep=7 id=300 if=9'],
    },
    {
      name: 'an identity with no policy of its own any more: its endpoints keep an empty map',
      events: [{ type: 'policy-delete', identity: 301 }],
      want: ['cilium_policy_v2_00007 := []'],
    },
    {
      name: "another node's endpoint and policy for an identity not hosted here write nothing",
      events: [epUp(5, 300, '10.0.1.5', 'node-b'), policyUp(999, [0])],
      want: [],
    },
  ])('$name', ({ events, want }) => {
    expect(readable(planRevision('node-a', hostingView(), events).ops)).toEqual(want);
  });

  it('remembers entries until the last endpoint goes, and changes the view only when the draft is committed', () => {
    const view = hostingView();
    const { draft } = planRevision('node-a', view, [epDown(7, '10.0.0.7'), { type: 'policy-delete', identity: 301 }]);
    // Not committed (the apply failed): the view is as it was.
    expect([...view.endpoints.keys()]).toEqual([5, 6, 7]);
    expect(view.policies.has(301)).toBe(true);
    draft.commit();
    expect([...view.endpoints.keys()]).toEqual([5, 6]);
    expect([...view.policies.keys()]).toEqual([300]);
    // A later endpoint of 300 is filled from what the view kept; one of 301 gets an empty map until 301's policy comes.
    expect(applyRevisions(view, [epUp(10, 300, '10.0.0.10')], [epUp(11, 301, '10.0.0.11')], [policyUp(301, [6])])).toEqual([
      ['cilium_policy_v2_00010 := [0,1]', 'lxc put 10.0.0.10 ep=10 id=300 if=9'],
      ['cilium_policy_v2_00011 := []', 'lxc put 10.0.0.11 ep=11 id=301 if=9'],
      ['cilium_policy_v2_00011 := [6]'],
    ]);
  });
});

describe('planRevision: node addresses in the ipcache', () => {
  it('writes the own node as host (1) and other nodes as remote-node (6) without tunnel, follows address changes and removals', () => {
    const view = new NodeView();
    expect(applyRevisions(view,
      [nodeUp('node-a', '192.168.0.1', 'fd00::a'), nodeUp('node-b', '192.168.0.2')],
      [nodeUp('node-b', '192.168.0.22')],
      [nodeUp('node-b', '192.168.0.22')],
      [{ type: 'node-delete', name: 'node-b' }],
    )).toEqual([
      ['ipcache put 192.168.0.1/32 id=1 tunnel=-', 'ipcache put fd00::a/128 id=1 tunnel=-', 'ipcache put 192.168.0.2/32 id=6 tunnel=-'],
      ['ipcache put 192.168.0.22/32 id=6 tunnel=-', 'ipcache delete 192.168.0.2/32'],
      ['ipcache put 192.168.0.22/32 id=6 tunnel=-'],
      ['ipcache delete 192.168.0.22/32'],
    ]);
    expect([...view.nodes.keys()]).toEqual(['node-a']);
  });

  it("keeps a node's entry when a CIDR identity's prefix equals the node's address", () => {
    const view = new NodeView();
    view.nodes.set('node-b', { ipv4: '192.168.0.2', ipv6: null });
    expect(readable(planRevision('node-a', view, [
      { type: 'prefix-upsert', prefix: '192.168.0.2/32', identity: 16777217 },
      { type: 'prefix-upsert', prefix: '192.168.0.0/24', identity: 16777218 },
      { type: 'prefix-delete', prefix: '192.168.0.2/32' },
    ]).ops)).toEqual(['ipcache put 192.168.0.0/24 id=16777218 tunnel=-']);
  });
});

describe('reconcileWithSnapshot', () => {
  const ep = (id: number, identity: number, ipv4: string) => ({ id, identity: { id: identity }, addressing: { ipv4 }, 'interface-index': 9 }) as unknown as Endpoint;
  const snapshotView = () => NodeView.fromSnapshot({
    nodes: [{ name: 'node-a', ipv4: '192.168.0.1' }, { name: 'node-b', ipv4: '192.168.0.2' }],
    own: [ep(5, 300, '10.0.0.5'), ep(6, 301, '10.0.0.6')],
    policies: [{ identity: 300, 'policy-revision': 1, 'ingress-enforced': true, 'egress-enforced': false, entries: [allowFrom(0)] }],
  });

  it('at a restart: policy maps filled first, stale ones removed last; node addresses reconciled, pods left to the feed', () => {
    const backend = new MemoryBackend();
    const ipPut = (prefix: string, identity: number) => backend.put(IPCACHE_MAP, encodeIpcacheKey(prefix), encodeIpcacheValue({ identity, tunnelEndpoint: null, encryptKey: 0 }));
    ipPut('10.0.9.9/32', 400); // a pod elsewhere: the feed's, not the restart's
    ipPut('192.168.0.3/32', 6); // a node gone while the agent was down
    applyMapOps(backend, [...planRevision('node-a', new NodeView(), [epUp(5, 300, '10.0.0.5'), epUp(9, 300, '10.0.0.9')]).ops]);
    backend.put(endpointMap(POLICY_MAPS, 5), Buffer.from(allowFrom(7).key, 'hex'), new Uint8Array(8));
    const view = snapshotView();
    const ops = [...reconcileWithSnapshot('node-a', readMaps(backend, NODE_MAPS), backend.pinnedMaps(POLICY_MAPS), view, { ipcache: undefined, own: [ep(5, 300, '10.0.0.5'), ep(6, 301, '10.0.0.6')] })];
    expect(readable(ops)).toEqual([
      'cilium_policy_v2_00005 := [0]',
      'cilium_policy_v2_00006 := []',
      'ipcache put 192.168.0.1/32 id=1 tunnel=-',
      'ipcache put 192.168.0.2/32 id=6 tunnel=-',
      'lxc put 10.0.0.6 ep=6 id=301 if=9',
      'ipcache delete 192.168.0.3/32',
      'lxc delete 10.0.0.9',
      'cilium_policy_v2_00009 removed',
    ]);
    applyMapOps(backend, ops);
    expect(backend.pinnedMaps(POLICY_MAPS).map((m) => m.name)).toEqual(['cilium_policy_v2_00005', 'cilium_policy_v2_00006']);
    expect(backend.entries(endpointMap(POLICY_MAPS, 5)).map(([k]) => decodePolicyKey(k).identity)).toEqual([0]);
    expect(readable(planReconcile(readMaps(backend, NODE_MAPS).map((c) => c.map === LXC_MAP ? c : { ...c, entries: c.entries.filter((_k, v) => [1, 6].includes(decodeIpcacheValue(v).identity)) }), desiredFromSnapshot('node-a', [], [ep(5, 300, '10.0.0.5'), ep(6, 301, '10.0.0.6')], view)))).toEqual([]);
    expect(decodeIpcacheValue(backend.entries(IPCACHE_MAP).find(([k]) => decodeIpcacheKey(k).prefix === '10.0.9.9/32')![1]).identity).toBe(400);
  });

  it('into empty maps: policy maps first, then each map its whole entry set in one operation, node addresses winning in the ipcache', () => {
    const ops = reconcileWithSnapshot('node-a', NODE_MAPS.map((map) => ({ map, entries: new EntrySet(map.layout.keySize, map.layout.valueSize) })), [], snapshotView(), {
      ipcache: [
        { prefix: '10.0.0.5/32', identity: 300, node: 'node-a', 'host-ip': '192.168.0.1', endpoint: 5 },
        { prefix: '192.168.0.2/32', identity: 16777217, node: null, 'host-ip': null, endpoint: null },
      ],
      own: [ep(5, 300, '10.0.0.5')],
    });
    expect(readable(ops)).toEqual([
      'cilium_policy_v2_00005 := [0]',
      'cilium_policy_v2_00006 := []',
      'cilium_ipcache_v2 put-set:',
      'ipcache put 10.0.0.5/32 id=300 tunnel=-',
      'ipcache put 192.168.0.2/32 id=6 tunnel=-',
      'ipcache put 192.168.0.1/32 id=1 tunnel=-',
      'cilium_lxc put-set:',
      'lxc put 10.0.0.5 ep=5 id=300 if=9',
    ]);
    const backend = new MemoryBackend();
    expect(applyMapOps(backend, ops)).toBe(2 + 3 + 1);
    expect(readable(reconcileWithSnapshot('node-a', readMaps(backend, NODE_MAPS), backend.pinnedMaps(POLICY_MAPS), snapshotView(), {
      ipcache: [{ prefix: '10.0.0.5/32', identity: 300, node: 'node-a', 'host-ip': '192.168.0.1', endpoint: 5 }],
      own: [ep(5, 300, '10.0.0.5')],
    }))).toEqual(['cilium_policy_v2_00005 := [0]', 'cilium_policy_v2_00006 := []']);
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

describe('desiredFromSnapshot', () => {
  it("writes a CIDR identity's prefix (no node, endpoint or host IP) without a tunnel, as prefix-upsert does", () => {
    const snapshot = [
      { prefix: '10.0.0.7/32', identity: 300, node: 'node-b', 'host-ip': '192.168.0.2', endpoint: 7 },
      { prefix: '203.0.113.0/24', identity: 16777217, node: null, 'host-ip': null, endpoint: null },
    ];
    const ipcache = desiredFromSnapshot('node-a', snapshot, []).get(IPCACHE_MAP.name)!.entries;
    const ops = planReconcile([], desiredFromSnapshot('node-a', snapshot, []));
    expect(readable(ops)).toEqual(['cilium_ipcache_v2 put-set:', 'ipcache put 10.0.0.7/32 id=300 tunnel=192.168.0.2', 'ipcache put 203.0.113.0/24 id=16777217 tunnel=-']);
    const upsert = planEvents('node-a', [{ type: 'prefix-upsert', prefix: '203.0.113.0/24', identity: 16777217 }])[0] as MapOp & { kind: 'put' };
    expect(ipcache.entries()[1]).toEqual([upsert.key, upsert.value]);
  });

  it.each([
    { name: 'IPv4 after IPv6', prefixes: ['fd00::1:2/128', '10.0.0.1/32'] },
    { name: 'IPv6 after IPv4', prefixes: ['10.0.0.1/32', 'fd00::1:2/128'] },
  ])('encodes each entry as the feed does, whatever came before it in the reused buffers ($name)', ({ prefixes }) => {
    const snapshot = prefixes.map((prefix, i) => ({ prefix, identity: 300 + i, node: i === 0 ? 'node-b' : 'node-a', 'host-ip': i === 0 ? 'fd00::99' : '192.168.0.1', endpoint: 1 }));
    const ipcache = desiredFromSnapshot('node-a', snapshot, []).get(IPCACHE_MAP.name)!.entries;
    const fromFeed = planEvents('node-a', snapshot.map((e) => up(e.prefix, e.identity, e.node, e['host-ip']))) as (MapOp & { kind: 'put' })[];
    expect(ipcache.entries()).toEqual(fromFeed.map((op) => [op.key, op.value]));
  });
});
