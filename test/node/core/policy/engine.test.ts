// The engine as the Durable Object drives it: what a transaction reports, stale identities
// recomputed in chunks, prefixes to allocate, and traces in the datapath's lookup order.
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../../src/core/policy/engine.js';
import type { PolicyDocument } from '../../../../src/core/policy/rule.js';
import { CLUSTER, cnp, engineWith, pod, tcp } from './fixtures.js';

const SERVER = { matchLabels: { app: 'server' } };
const CLIENT = { matchLabels: { app: 'client' } };
const TCP = 6;
const UDP = 17;

describe('transactions', () => {
  it('a new identity changes only the maps that select it, and gets its own policy at once', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] })]);
    const { changed } = engine.transaction((tx) => tx.addIdentity(2000, pod('default', 'k8s:app=client')));
    expect(changed).toEqual([1001, 2000]);
    expect(engine.policyOf(1001)!.entries.filter((e) => e.identity === 2000)).toEqual([
      { identity: 2000, direction: 'ingress', protocol: TCP, port: 80, prefixLength: 24, verdict: 'allow', policies: ['default/p1'] },
    ]);
    expect(engine.policyOf(2000)!.ingressEnforced).toBe(false);
    expect(engine.transaction((tx) => tx.removeIdentity(2000)).changed).toEqual([1001, 2000]);
    expect(engine.policyOf(1001)!.entries.some((e) => e.identity === 2000)).toBe(false);
  });

  it('a subject regenerated with the same peer selector still gets identities added later', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT] }] })]);
    engine.transaction((tx) => {
      tx.putPolicy(cnp('default', 'p2', { endpointSelector: SERVER, egress: [{ endpoints: [CLIENT] }] }));
      tx.regenerate();
    });
    engine.transaction((tx) => tx.addIdentity(2000, pod('default', 'k8s:app=client')));
    expect(engine.policyOf(1001)!.entries.filter((e) => e.identity === 2000).map((e) => e.direction)).toEqual(['egress', 'ingress']);
  });

  it('a policy put marks the identities it selects stale; regenerate recomputes them in chunks', () => {
    const engine = engineWith([]);
    const doc: PolicyDocument = cnp('default', 'p1', { endpointSelector: {}, ingress: [{ endpoints: [CLIENT] }], egress: [{ cidr: ['10.0.0.0/8', '192.168.1.1'] }] });
    const { value: change, changed } = engine.transaction((tx) => tx.putPolicy(doc));
    expect(change).toEqual({ stale: [1000, 1001, 1003], prefixesAdded: ['10.0.0.0/8', '192.168.1.1/32'], prefixesRemoved: [] });
    expect(changed).toEqual([]);
    expect(engine.policyOf(1001)!.ingressEnforced).toBe(false);
    expect(engine.transaction((tx) => tx.regenerate([1001])).changed).toEqual([1001]);
    expect([engine.isStale(1001), engine.stale()]).toEqual([false, [1000, 1003]]);
    expect(engine.policyOf(1001)!.ingressEnforced).toBe(true);
    expect(engine.transaction((tx) => tx.regenerate()).value).toEqual([1000, 1003]);
    expect(engine.namedPrefixes()).toEqual(['10.0.0.0/8', '192.168.1.1/32']);
    const { value: removed } = engine.transaction((tx) => tx.deletePolicy('default/p1'));
    expect(removed).toEqual({ stale: [1000, 1001, 1003], prefixesAdded: [], prefixesRemoved: ['10.0.0.0/8', '192.168.1.1/32'] });
  });

  it('a failed transaction undoes its writes; writes outside a transaction are refused', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT] }] })]);
    const before = [engine.policyOf(1001), engine.selections(), engine.stale()];
    expect(() =>
      engine.transaction((tx) => {
        tx.addIdentity(2000, pod('default', 'k8s:app=client'));
        tx.deletePolicy('default/p1');
        tx.regenerate();
        throw new Error('SQLITE_FULL');
      }),
    ).toThrow('SQLITE_FULL');
    expect([engine.policyOf(1001), engine.selections(), engine.stale()]).toEqual(before);
    expect(engine.policyOf(2000)).toBeUndefined();
  });

  it('shows each selector of a policy, by key, with the identities it selects (at most limit) and their count', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT] }] })]);
    const server = '{"matchLabels":{"any.app":"server","k8s.io.kubernetes.pod.namespace":"default"},"matchExpressions":[]}';
    const client = '{"matchLabels":{"any.app":"client","k8s.io.kubernetes.pod.namespace":"default"},"matchExpressions":[]}';
    expect(engine.policySelectors('default/p1', 100)).toEqual([
      { selector: client, identities: [1000, 1003], count: 2 },
      { selector: server, identities: [1001], count: 1 },
    ]);
    expect(engine.policySelectors('default/p1', 1)![0]).toEqual({ selector: client, identities: [1000], count: 2 });
    expect(engine.policySelectors('default/p1', 100)!.map((s) => s.identities)).toEqual(
      engine.selections().filter((s) => s.selector === client || s.selector === server).map((s) => s.identities),
    );
    expect(engine.policySelectors('default/none', 100)).toBeUndefined();
  });

  it('answers for peers the SelectorCache does not hold (no identity uses the policy) without caching them', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: { matchLabels: { app: 'nobody' } }, ingress: [{ endpoints: [CLIENT] }, { cidr: ['10.0.0.0/8'] }] })]);
    const cached = engine.selections();
    expect(engine.policySelectors('default/p1', 100)!.map(({ identities, count }) => ({ identities, count }))).toEqual([
      { identities: [1000, 1003], count: 2 },
      { identities: [], count: 0 },
      // A CIDR selector selects the identities of the prefixes inside it too.
      { identities: [16777217, 16777218, 16777219], count: 3 },
    ]);
    expect(engine.selections()).toEqual(cached);
    engine.transaction((tx) => tx.addIdentity(2000, pod('default', 'k8s:app=client')));
    expect(engine.policySelectors('default/p1', 100)![0]).toMatchObject({ identities: [1000, 1003, 2000], count: 3 });
  });

  it('nests units like savepoints: an inner failure undoes its own writes only, an outer one all of them', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] })]);
    const serverPeers = () => engine.policyOf(1001)!.entries.map((e) => e.identity);
    const before = serverPeers();
    const boom = new Error('boom');
    const { changed } = engine.transaction((tx) => {
      engine.transaction((inner) => inner.addIdentity(2000, pod('default', 'k8s:app=client')));
      expect(() => engine.transaction((inner) => {
        inner.addIdentity(2001, pod('default', 'k8s:app=client', 'k8s:v=2'));
        throw boom;
      })).toThrow(boom);
      // A trace inside a unit is a what-if: it leaves the unit's state as it was.
      engine.trace({ id: 2002, labels: pod('default', 'k8s:app=client', 'k8s:v=3') }, { id: 1001 }, TCP, 80);
      return tx;
    });
    expect(changed).toEqual([1001, 2000]);
    expect(serverPeers()).toContain(2000);
    expect(serverPeers()).not.toContain(2001);
    expect(serverPeers()).not.toContain(2002);
    expect(() => engine.transaction(() => {
      engine.transaction((inner) => inner.addIdentity(2003, pod('default', 'k8s:app=client', 'k8s:v=4')));
      throw boom;
    })).toThrow(boom);
    expect(serverPeers()).toEqual([...before, 2000].sort((a, b) => a - b));
  });

  it('tells enforcement without building entries, as policyOf has it', () => {
    const engine = engineWith([cnp('default', 'p1', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT], toPorts: [tcp(80)] }] })]);
    engine.transaction((tx) => tx.addIdentity(2000, pod('other', 'k8s:app=server')));
    for (const id of [1, 2, 1000, 1001, 1003, 2000, 4242]) {
      const policy = engine.policyOf(id);
      expect([id, engine.enforcementOf(id)]).toEqual([id, policy && { ingress: policy.ingressEnforced, egress: policy.egressEnforced }]);
    }
    expect(engine.enforcementOf(1001)).toEqual({ ingress: true, egress: false });
  });

  it('refuses to add a known identity twice', () => {
    const engine = new PolicyEngine({ clusterName: CLUSTER });
    expect(() => engine.transaction((tx) => tx.addIdentity(1, ['reserved:host']))).toThrow('already known');
  });
});

describe('trace (datapath lookup order)', () => {
  const engine = engineWith([
    cnp('default', 'allow-client', { endpointSelector: SERVER, ingress: [{ endpoints: [CLIENT] }, { toPorts: [tcp(8080)] }] }),
    cnp('default', 'deny-443', { endpointSelector: SERVER, ingressDeny: [{ toPorts: [tcp(443)] }, { endpoints: [{ matchLabels: { 'container:app': 'client' } }], toPorts: [tcp(22)] }] }),
    cnp('default', 'client-egress', { endpointSelector: CLIENT, egress: [{ endpoints: [SERVER], toPorts: [tcp(80), tcp(443), tcp(22), tcp(8080)] }] }),
  ]);
  const side = (verdict: string, identity: number | null, protocol?: number, port?: number, policies: string[] = []) => ({
    verdict,
    entry: identity === null ? null : expect.objectContaining({ identity, protocol, port }),
    policies,
  });

  it.each([
    { name: 'the source’s egress denies what the destination’s L3 allow accepts', from: 1000, to: 1001, proto: TCP, port: 9999, verdict: 'deny', egress: side('deny', null), ingress: side('allow', 1000, 0, 0, ['default/allow-client']) },
    { name: 'both sides allow', from: 1000, to: 1001, proto: TCP, port: 80, verdict: 'allow', egress: side('allow', 1001, TCP, 80, ['default/client-egress']), ingress: side('allow', 1000, 0, 0, ['default/allow-client']) },
    { name: 'an L4-only deny beats an L3 allow', from: 1000, to: 1001, proto: TCP, port: 443, verdict: 'deny', egress: side('allow', 1001, TCP, 443, ['default/client-egress']), ingress: side('deny', 0, TCP, 443, ['default/deny-443']) },
    { name: 'an L3 deny wins at once', from: 1003, to: 1001, proto: TCP, port: 22, verdict: 'deny', egress: side('allow', 1001, TCP, 22, ['default/client-egress']), ingress: side('deny', 1003, TCP, 22, ['default/deny-443']) },
    { name: 'a longer L4-only prefix beats a shorter L3 one', from: 1000, to: 1001, proto: TCP, port: 8080, verdict: 'allow', egress: side('allow', 1001, TCP, 8080, ['default/client-egress']), ingress: side('allow', 0, TCP, 8080, ['default/allow-client']) },
    { name: 'no match drops', from: 1002, to: 1001, proto: UDP, port: 53, verdict: 'deny', egress: side('allow', 0, 0, 0), ingress: side('deny', null) },
    { name: 'reserved identities have no policy of their own', from: 1001, to: 2, proto: UDP, port: 53, verdict: 'allow', egress: side('allow', 0, 0, 0), ingress: side('allow', null) },
  ])('$name', ({ from, to, proto, port, verdict, egress, ingress }) => {
    expect(engine.trace({ id: from }, { id: to }, proto, port)).toEqual({ verdict, egress, ingress });
  });

  it('traces labels without an identity as the identity they would get, leaving no trace', () => {
    const before = [engine.selections(), engine.policyOf(1001)];
    const result = engine.trace({ id: 3000, labels: pod('default', 'k8s:app=client') }, { id: 1001 }, TCP, 80);
    expect(result).toEqual({ verdict: 'allow', egress: side('allow', 1001, TCP, 80, ['default/client-egress']), ingress: side('allow', 3000, 0, 0, ['default/allow-client']) });
    expect([engine.selections(), engine.policyOf(1001), engine.policyOf(3000)]).toEqual([...before, undefined]);
  });
});
