// Group commit: endpoint mutations that arrive together share one durable commit, while each
// stays one transaction for its caller: its own revision, all or nothing, in arrival order.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { CommitGroup, MAX_GROUP_SIZE } from '../../durable-objects/commit-group.js';
import { ClusterState } from '../../durable-objects/cluster-state.js';
import * as endpoints from '../../durable-objects/ops/endpoints.js';
import { call, clusterStub, clusterWithNodes, dumpState } from './helpers.js';

/** A CommitGroup whose deferred drains run when the test says, recording each outer transaction. */
function manualGroup(failOuter = () => false) {
  const deferred: (() => void)[] = [];
  const log: string[] = [];
  const group = new CommitGroup(
    (body) => {
      log.push('begin');
      body();
      if (failOuter()) throw new Error('outer commit failed');
      log.push('commit');
    },
    (fn) => deferred.push(fn),
  );
  const runDeferred = async () => {
    while (deferred.length > 0) deferred.shift()!();
    await Promise.resolve();
  };
  return { group, log, runDeferred };
}

describe('CommitGroup', () => {
  it('runs what was submitted together in one outer transaction, in order, and answers after its commit', async () => {
    const { group, log, runDeferred } = manualGroup();
    const answers = [1, 2, 3].map((n) => group.submit(() => (log.push(`op ${n}`), n * 10)));
    const settled: number[] = [];
    answers.forEach((a) => void a.then((v) => settled.push(v)));
    await Promise.resolve();
    expect(log).toEqual([]);
    await runDeferred();
    expect(log).toEqual(['begin', 'op 1', 'op 2', 'op 3', 'commit']);
    expect(await Promise.all(answers)).toEqual([10, 20, 30]);
    expect(settled).toEqual([10, 20, 30]);
  });

  it('fails a throwing mutation alone; the others of its group commit', async () => {
    const { group, log, runDeferred } = manualGroup();
    const boom = new Error('boom');
    const answers = [
      group.submit(() => 'a'),
      group.submit(() => {
        throw boom;
      }),
      group.submit(() => 'c'),
    ].map((p) => p.then((v) => ({ v }), (e: unknown) => ({ e })));
    await runDeferred();
    expect(await Promise.all(answers)).toEqual([{ v: 'a' }, { e: boom }, { v: 'c' }]);
    expect(log).toEqual(['begin', 'commit']);
  });

  it('fails every mutation of the group when the outer transaction fails', async () => {
    const { group, runDeferred } = manualGroup(() => true);
    const answers = [group.submit(() => 'a'), group.submit(() => 'b')].map((p) => p.then((v) => ({ v }), (e: unknown) => ({ e: (e as Error).message })));
    await runDeferred();
    expect(await Promise.all(answers)).toEqual([{ e: 'outer commit failed' }, { e: 'outer commit failed' }]);
  });

  it(`runs at most ${MAX_GROUP_SIZE} mutations in one group, the rest in the next`, async () => {
    const { group, log, runDeferred } = manualGroup();
    const answers = Array.from({ length: MAX_GROUP_SIZE + 5 }, (_x, i) => group.submit(() => i));
    await runDeferred();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: MAX_GROUP_SIZE + 5 }, (_x, i) => i));
    expect(log.filter((l) => l === 'commit')).toHaveLength(2);
  });
});

type Internals = {
  state: ClusterState;
  transact: <T>(op: (now: number) => T) => T;
  transactTogether: (body: () => void) => void;
};

const createBody = (n: number, ip = `10.1.${n >> 8}.${n & 255}`) => ({ labels: [`k8s:app=a${n % 7}`], 'k8s-namespace': 'shop', addressing: { ipv4: ip } });

describe('endpoint creates sent at once', () => {
  it('share commits, and each answers the revision whose feed batch holds its own events', async () => {
    const c = await clusterWithNodes(['node-1', 'node-2']);
    // Counts root (outermost) storage transactions: each is one durable commit.
    await runInDurableObject(clusterStub(c.cluster), (_instance, state) => {
      const storage = state.storage as DurableObjectStorage & { commits?: number };
      const inner = storage.transactionSync.bind(storage);
      let depth = 0;
      storage.commits = 0;
      storage.transactionSync = <T>(fn: () => T): T => {
        if (depth++ === 0) storage.commits! += 1;
        try {
          return inner(fn);
        } finally {
          depth--;
        }
      };
    });
    const n = 200;
    const answers = await Promise.all(Array.from({ length: n }, (_x, i) => c.createEndpoint(`node-${1 + (i % 2)}`, '0', createBody(i))));
    expect(answers.map((a) => a.status)).toEqual(Array(n).fill(201));
    const commits = await runInDurableObject(clusterStub(c.cluster), (_instance, state) => (state.storage as unknown as { commits: number }).commits);
    expect(commits).toBeLessThan(n / 4);

    const revisions = answers.map((a) => a.body.revision as number);
    expect(new Set(revisions).size).toBe(n);
    const feed = await call('GET', `${c.base}/feed?since=${Math.min(...revisions) - 1}&limit=1000`);
    const batchOf = new Map<number, { events: { type: string; node?: string; id?: number; prefix?: string }[] }>(feed.body.batches.map((b: { revision: number }) => [b.revision, b]));
    for (const [i, a] of answers.entries()) {
      const events = batchOf.get(a.body.revision)!.events;
      expect(events).toContainEqual(expect.objectContaining({ type: 'endpoint-upsert', node: `node-${1 + (i % 2)}`, id: a.body.id }));
      expect(events).toContainEqual(expect.objectContaining({ type: 'ipcache-upsert', prefix: `${createBody(i).addressing.ipv4}/32` }));
    }
  });

  it('fail alone when they conflict within a group: one of each pair claiming an address wins', async () => {
    const c = await clusterWithNodes(['node-1']);
    const pairs = 20;
    const answers = await Promise.all(Array.from({ length: 2 * pairs }, (_x, i) => c.createEndpoint('node-1', '0', createBody(i, `10.2.0.${i >> 1}`))));
    for (let p = 0; p < pairs; p++) {
      expect([answers[2 * p]!.status, answers[2 * p + 1]!.status].sort()).toEqual([201, 409]);
      expect([answers[2 * p]!, answers[2 * p + 1]!].find((a) => a.status === 409)!.body.error.code).toBe('ip-in-use');
    }
    const state = await dumpState(c.cluster);
    expect(state.endpoints).toHaveLength(pairs);
    expect(state.ipcache).toHaveLength(pairs);
    const refs = (state.identities as { refcount: number }[]).reduce((sum, i) => sum + i.refcount, 0);
    expect(refs).toBe(pairs);
  });
});

describe('a group inside the object', () => {
  it('rolls back a failed mutation alone, and the whole group when its outer transaction fails', async () => {
    const c = await clusterWithNodes(['node-1']);
    // A policy selecting every identity: the engine's selections then list each identity it knows.
    const all = { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'all' }, spec: { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] } };
    expect((await call('PUT', `${c.base}/clusterwide-policies/all`, { body: all })).status).toBe(201);
    await c.createEndpoint('node-1', '0', createBody(0));
    const create = (i: Internals, n: number) => (now: number) => endpoints.createEndpoint(i.state, c.cluster, 'node-1', '0', createBody(n), now, null);

    const before = await dumpState(c.cluster);
    const outcome = await runInDurableObject(clusterStub(c.cluster), (instance) => {
      const i = instance as unknown as Internals;
      try {
        i.transactTogether(() => {
          i.transact(create(i, 1));
          throw new Error('outer transaction fails');
        });
        return 'committed';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(outcome).toBe('outer transaction fails');
    expect(await dumpState(c.cluster)).toEqual(before);

    const ids = await runInDurableObject(clusterStub(c.cluster), (instance) => {
      const i = instance as unknown as Internals;
      const made: number[] = [];
      i.transactTogether(() => {
        made.push(i.transact(create(i, 1)).endpoint.identity.id);
        try {
          i.transact((now) => {
            create(i, 2)(now);
            throw new Error('fails after its writes');
          });
        } catch {
          // this mutation alone rolls back
        }
        made.push(i.transact(create(i, 3)).endpoint.identity.id);
      });
      return made;
    });
    const after = await dumpState(c.cluster);
    expect((after.ipcache as { prefix: string }[]).map((r) => r.prefix).sort()).toEqual(['10.1.0.0/32', '10.1.0.1/32', '10.1.0.3/32']);
    // The failed create's identity (app=a2) is not stored, and the engine equals one rebuilt from storage.
    expect((after.identities as { labels: string }[]).map((r) => r.labels).join()).not.toContain('app=a2');
    const engines = await runInDurableObject(clusterStub(c.cluster), (instance, state) => {
      const live = (instance as unknown as Internals).state;
      const rebuilt = new ClusterState(state.storage.sql, c.cluster);
      const dump = (s: ClusterState) => ({ selections: s.engine.selections(), policies: ids.map((id) => s.engine.policyOf(id)) });
      return { live: dump(live), rebuilt: dump(rebuilt) };
    });
    expect(engines.live.selections.flatMap((s) => s.identities)).toEqual(expect.arrayContaining(ids));
    expect(engines.live).toEqual(engines.rebuilt);
  });
});
