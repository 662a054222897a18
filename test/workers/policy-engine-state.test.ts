// The engine inside the cluster object: a rolled-back transaction leaves it as it was, a
// cluster-wide policy over many identities is recomputed in chunks while other requests are
// answered, and traces answer what a connection gets.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sanitizePolicy } from '../../src/core/policy/sanitize.js';
import * as endpoints from '../../durable-objects/ops/endpoints.js';
import * as policies from '../../durable-objects/ops/policies.js';
import * as policyViews from '../../durable-objects/ops/policy-views.js';
import type { ClusterState } from '../../durable-objects/cluster-state.js';
import { call, clusterStub, clusterWithNodes, dumpPolicyEngine, dumpState } from './helpers.js';

const allowWeb = {
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'allow-web', namespace: 'shop' },
  spec: {
    endpointSelector: { matchLabels: { app: 'web' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
  },
};

type Internals = { state: ClusterState; transact: <T>(op: (now: number) => T) => T };

describe('rollback', () => {
  it('leaves the engine and every answer unchanged after a rolled-back put and create', async () => {
    const c = await clusterWithNodes(['node-1']);
    const web = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=web'], 'k8s-namespace': 'shop' });
    await call('PUT', `${c.base}/policies/shop/allow-web`, { body: allowWeb });
    const before = { state: await dumpState(c.cluster), engine: await dumpPolicyEngine(c.cluster), answer: await call('GET', `${c.base}/identities/${web.body.identity.id}/policy`) };

    const failures = await runInDurableObject(clusterStub(c.cluster), (instance) => {
      const i = instance as unknown as Internals;
      const state = i.state;
      const attempt = (op: (now: number) => void) => {
        try {
          i.transact((now) => {
            op(now);
            throw new Error('fails after its writes');
          });
          return 'committed';
        } catch (e) {
          return (e as Error).message;
        }
      };
      const cidrPolicy = sanitizePolicy(
        { ...allowWeb, spec: { endpointSelector: {}, ingress: [{ fromCIDR: ['10.0.0.0/8'] }, { fromEndpoints: [{}] }] } },
        { kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'allow-web' },
      );
      return [
        attempt((now) => policies.putPolicy(state, { document: cidrPolicy.policy, metadata: cidrPolicy.metadata }, now)),
        attempt((now) => endpoints.createEndpoint(state, c.cluster, 'node-1', '0', { labels: ['k8s:app=client'], 'k8s-namespace': 'shop' }, now, null)),
      ];
    });
    expect(failures).toEqual(['fails after its writes', 'fails after its writes']);
    expect(await dumpPolicyEngine(c.cluster)).toEqual(before.engine);
    expect(await dumpState(c.cluster)).toEqual(before.state);
    expect(await call('GET', `${c.base}/identities/${web.body.identity.id}/policy`)).toEqual(before.answer);
  });
});

describe('a cluster-wide policy over many identities', () => {
  it('is recomputed in chunks, the trailing identities current once their chunk is done, requests answered in between', async () => {
    const c = await clusterWithNodes(['node-1']);
    const count = policies.MAX_POLICY_CHUNK + 40;
    // Created inside the object (one transaction each, as the route does), to keep the test short.
    const ids = await runInDurableObject(clusterStub(c.cluster), (instance) => {
      const i = instance as unknown as Internals;
      return Array.from({ length: count }, (_x, n) =>
        i.transact((now) => endpoints.createEndpoint(i.state, c.cluster, 'node-1', '0', { labels: [`k8s:app=a${n}`], 'k8s-namespace': 'ns' }, now, null)).endpoint.identity.id);
    });
    const ccnp = sanitizePolicy(
      { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'egress-world' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } },
      { kind: 'CiliumClusterwideNetworkPolicy', namespace: null, name: 'egress-world' },
    );
    // Inside the object, as the route runs it, so that no alarm runs before the checks.
    const seen = await runInDurableObject(clusterStub(c.cluster), async (instance) => {
      const i = instance as unknown as Internals & { work: { regeneratePolicy(): Promise<unknown> } };
      const put = i.transact((now) => policies.putPolicy(i.state, { document: ccnp.policy, metadata: ccnp.metadata }, now));
      const view = (id: number) => {
        const p = policyViews.identityPolicy(i.state, id);
        return { revision: p['policy-revision'], egress: p['egress-enforced'] };
      };
      const first = view(ids[0]!);
      const last = view(ids[count - 1]!);
      // A create of a trailing identity answers with its policy current.
      const late = i.transact((now) => endpoints.createEndpoint(i.state, c.cluster, 'node-1', '0', { labels: [`k8s:app=a${count - 2}`], 'k8s-namespace': 'ns' }, now, null));
      const trailing = view(ids[count - 3]!);
      await i.work.regeneratePolicy();
      return { revision: put['policy-revision'], first, last, late: late.endpoint, trailing, done: view(ids[count - 1]!) };
    });
    const revision = seen.revision;
    expect(seen.first).toEqual({ revision, egress: true });
    expect(seen.last).toEqual({ revision: revision - 1, egress: false });
    expect(seen.late['policy-revision']).toBe(revision);
    expect(seen.late['policy-enforcement']).toEqual({ ingress: false, egress: true });
    expect(seen.trailing).toEqual({ revision: revision - 1, egress: false });
    // The background job finished the rest, one chunk per transaction.
    expect(seen.done).toEqual({ revision, egress: true });
    expect((await call('GET', `${c.base}/identities/${ids[count - 1]}/policy`)).body['policy-revision']).toBe(revision);
    const stale = await runInDurableObject(clusterStub(c.cluster), (instance) => (instance as unknown as Internals).state.identities.policyStale(0, 10));
    expect(stale).toEqual([]);
  });
});

describe('policy trace', () => {
  it('answers the verdict with the deciding entries, for identities, endpoints and labels not allocated yet', async () => {
    const c = await clusterWithNodes(['node-1']);
    const client = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=client'], 'k8s-namespace': 'shop' });
    const web = await c.createEndpoint('node-1', '0', { labels: ['k8s:app=web'], 'k8s-namespace': 'shop' });
    await call('PUT', `${c.base}/policies/shop/allow-web`, { body: allowWeb });
    const trace = (body: unknown) => call('POST', `${c.base}/policy/trace`, { body });
    const toWeb = { endpoint: { node: 'node-1', ref: String(web.body.id) } };

    const allowed = await trace({ from: { identity: client.body.identity.id }, to: toWeb, protocol: 'TCP', port: 80 });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({
      verdict: 'allow',
      egress: { verdict: 'allow', policies: [] },
      ingress: { verdict: 'allow', entry: { identity: client.body.identity.id, protocol: 6, port: 80, verdict: 'allow' }, policies: ['shop/allow-web'] },
    });
    const otherPort = await trace({ from: { identity: client.body.identity.id }, to: toWeb, protocol: 'TCP', port: 81 });
    expect(otherPort.body).toMatchObject({ verdict: 'deny', ingress: { verdict: 'deny', entry: null } });
    const world = await trace({ from: { identity: 2 }, to: toWeb, protocol: 6, port: 80 });
    expect(world.body.verdict).toBe('deny');

    const before = await dumpState(c.cluster);
    const newClient = await trace({ from: { labels: ['k8s:app=client', 'k8s:tier=new', 'k8s:io.kubernetes.pod.namespace=shop'] }, to: toWeb, protocol: 'TCP', port: 80 });
    expect(newClient.body.verdict).toBe('allow');
    expect(newClient.body.from).not.toBe(client.body.identity.id);
    // The labels a pod was created with are traced as its identity: the cluster label (and its
    // namespace's labels) are added as a create adds them.
    const asCreated = await trace({ from: { labels: ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=shop'] }, to: toWeb, protocol: 'TCP', port: 80 });
    expect(asCreated.body).toMatchObject({ verdict: 'allow', from: client.body.identity.id });
    expect(await dumpState(c.cluster)).toEqual(before);
  });
});
