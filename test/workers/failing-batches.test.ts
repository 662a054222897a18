// One failing batch never blocks the others: a batch whose transaction fails (here a trigger
// makes one row's deletion abort) is logged and skipped, every other batch of every kind of work
// commits, the alarm re-arms for a later retry, and the work completes once the fault is gone.
// A node whose removal is under way refuses changes with 409 node-deleting, state unchanged.
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, clusterStub, dumpState, freshCluster, type CallOptions } from './helpers.js';
import { execSql, runAlarmsUntil, seedEndpoints, seedReleasedIdentities, shiftClock } from './large-state.js';

const HOUR = 3600_000;

const seededIdsLeft = async (cluster: string): Promise<number[]> =>
  runInDurableObject(clusterStub(cluster), (_i, state) =>
    state.storage.sql.exec<{ id: number }>("SELECT id FROM identities WHERE sha256 LIKE 'gc-%' ORDER BY id").toArray().map((r) => r.id));

const alarmAt = async (cluster: string): Promise<number | null> => runInDurableObject(clusterStub(cluster), (_i, state) => state.storage.getAlarm());

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface Row {
  name: string;
  trigger: string;
  /** What the failed batch leaves behind after one alarm run. */
  left: (cluster: string, base: string) => Promise<unknown>;
  want: unknown;
}

const rows: Row[] = [
  {
    name: 'a GC batch with an identity that cannot be deleted',
    trigger: 'CREATE TRIGGER poison BEFORE DELETE ON identities WHEN old.id = 1500 BEGIN SELECT RAISE(ABORT, \'poisoned\'); END',
    left: async (cluster, base) => ({ gc: await seededIdsLeft(cluster), nodes: (await call('GET', `${base}/nodes`)).body.nodes.map((n: { name: string }) => n.name) }),
    // Batches of 1000 from 256: only 1256..2255 stays; the lapsed nodes are gone all the same.
    want: { gc: range(1256, 2255), nodes: [] },
  },
  {
    name: 'a node-removal batch with an endpoint that cannot be deleted',
    trigger: "CREATE TRIGGER poison BEFORE DELETE ON endpoints WHEN old.node = 'lapsed-a' AND old.id = 300 BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
    left: async (cluster, base) => {
      const nodes = (await call('GET', `${base}/nodes`)).body.nodes as { name: string; endpoints: number; 'deleting-since'?: string }[];
      return { gc: await seededIdsLeft(cluster), nodes: nodes.map((n) => ({ name: n.name, endpoints: n.endpoints, deleting: n['deleting-since'] !== undefined })) };
    },
    // Batches of 256 endpoints: 257..512 of lapsed-a stay, the node with them; everything else goes.
    want: { gc: [], nodes: [{ name: 'lapsed-a', endpoints: 256, deleting: true }] },
  },
];

describe('a failing batch', () => {
  it.each(rows)('$name is skipped; the rest of the work commits and it is retried later', async ({ trigger, left, want }) => {
    const cluster = await freshCluster('poison');
    const base = `/v1/clusters/${cluster}`;
    await seedReleasedIdentities(cluster, 2500, Date.now());
    for (const [i, [node, endpoints]] of ([['lapsed-a', 600], ['lapsed-b', 20]] as const).entries()) {
      expect((await call('PUT', `${base}/nodes/${node}`, { body: { ipv4: `192.168.70.${i + 1}`, 'lease-seconds': 60 } })).status).toBe(201);
      await seedEndpoints(cluster, node, endpoints, { labelsOf: () => [`k8s:app=${node}`], subnet: i });
    }
    await execSql(cluster, trigger);
    await shiftClock(cluster, HOUR);
    const now = Date.now() + HOUR;

    await runAlarmsUntil(cluster, async () => true, 1);

    expect(await left(cluster, base)).toEqual(want);
    expect(await alarmAt(cluster)).toBeGreaterThanOrEqual(now + 60_000);

    await execSql(cluster, 'DROP TRIGGER poison');
    await shiftClock(cluster, HOUR + 120_000);
    await runAlarmsUntil(cluster, async () => JSON.stringify(await left(cluster, base)) === JSON.stringify({ gc: [], nodes: [] }));
  }, 120_000);
});

describe('a node being deleted', async () => {
  const cluster = await freshCluster('doomed');
  const base = `/v1/clusters/${cluster}`;
  const reg = await call('PUT', `${base}/nodes/doomed`, { body: { ipv4: '192.168.71.1' } });
  await seedEndpoints(cluster, 'doomed', 3);
  await execSql(cluster, "CREATE TRIGGER poison BEFORE DELETE ON endpoints WHEN old.node = 'doomed' AND old.id = 2 BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
  const deletion = await call('DELETE', `${base}/nodes/doomed`);

  it('answers 503 while a removal batch fails, and shows the node as deleting', async () => {
    expect({ status: deletion.status, code: deletion.body.error.code }).toEqual({ status: 503, code: 'node-deletion-incomplete' });
    const node = await call('GET', `${base}/nodes/doomed`);
    expect(node.body).toMatchObject({ name: 'doomed', endpoints: 3, 'deleting-since': expect.any(String) });
    expect((await call('GET', `${base}/ipcache`, { token: reg.body.token })).status).toBe(401);
  });

  const ep = `${base}/nodes/doomed/endpoints`;
  const refusals: { name: string; method: string; path: string; opts?: CallOptions }[] = [
    { name: 'PUT the node', method: 'PUT', path: `${base}/nodes/doomed`, opts: { body: { ipv4: '192.168.71.1' } } },
    { name: 'heartbeat', method: 'POST', path: `${base}/nodes/doomed/heartbeat`, opts: { body: { 'applied-revision': 1 } } },
    { name: 'create an endpoint', method: 'PUT', path: `${ep}/9`, opts: { body: { labels: ['k8s:app=late'] } } },
    { name: 'patch labels', method: 'PATCH', path: `${ep}/1/labels`, opts: { body: { add: ['k8s:tier=x'] } } },
    { name: 'regenerate', method: 'POST', path: `${ep}/1/regenerate` },
  ];
  it.each(refusals)('$name → 409 node-deleting, state unchanged', async ({ method, path, opts }) => {
    const before = await dumpState(cluster);
    const res = await call(method, path, opts);
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 409, code: 'node-deleting' });
    expect(await dumpState(cluster)).toEqual(before);
  });

  it('is finished by the alarm once the fault is gone', async () => {
    await execSql(cluster, 'DROP TRIGGER poison');
    await shiftClock(cluster, 120_000);
    await runAlarmsUntil(cluster, async () => (await call('GET', `${base}/nodes/doomed`)).status === 404);
    expect((await call('GET', `${base}/ipcache`)).body.entries).toEqual([]);
  });
});
