// `npm run bench -- breakdown`: where one sync endpoint create's time goes, measured. One
// `wrangler dev` of bench/breakdown-worker.ts; the object's stages are traced in place over
// thousands of creates (bench/stage-tracer.ts: the clock there advances only in whole ms, so the
// sums are unbiased, not any one create's figure); the worker's steps are timed alone in loops
// inside the worker; the HTTP figures are medians of requests sent from here one at a time, each
// kind leaving out one part of the create, interleaved; the rows between them are differences.
import { resolve } from 'node:path';
import { startWranglerDev, type WranglerDev } from '../test/e2e/wrangler-dev.js';
import { BREAKDOWN_CLUSTER, BREAKDOWN_NODES, breakdownNode, breakdownRequest, type TracedRun } from './breakdown-request.js';
import { describeMachine } from './machine.js';

const TRACED_CREATES = Number(process.env.BENCH_BREAKDOWN_CREATES ?? 2000);
const STEP_ITERATIONS = 5000;
const HTTP_ROUNDS = 1000;

async function call(dev: WranglerDev, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${dev.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

async function getJson<T>(dev: WranglerDev, path: string): Promise<T> {
  return (await call(dev, 'GET', path)).json() as Promise<T>;
}

/**
 * The median milliseconds of each kind of request, sent one at a time, interleaved (one of each
 * per round) so that the load other processes put on the machine falls on all of them alike;
 * medians, as a few slow outliers of a shared machine would swamp the differences of means.
 */
async function interleavedMedians<K extends string>(rounds: number, kinds: Record<K, (round: number) => Promise<Response>>): Promise<Record<K, number>> {
  const entries = Object.entries(kinds) as [K, (round: number) => Promise<Response>][];
  const samples = new Map<K, number[]>(entries.map(([k]) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [kind, request] of entries) {
      const t0 = performance.now();
      await (await request(r)).arrayBuffer();
      samples.get(kind)!.push(performance.now() - t0);
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return Object.fromEntries([...samples].map(([k, xs]) => [k, median(xs)])) as Record<K, number>;
}

interface Row { stage: string; ms: number; calls?: number; part?: boolean }

function printTable(rows: Row[], total: number): void {
  const us = (ms: number) => (ms * 1000).toFixed(0).padStart(7);
  console.log(`${'stage'.padEnd(100)} ${'µs/create'.padStart(9)}  ${'share'.padStart(7)}  calls/create`);
  for (const r of rows) {
    const share = r.part ? '' : `${((100 * r.ms) / total).toFixed(1)} %`;
    console.log(`${(r.part ? `    · ${r.stage}` : r.stage).padEnd(100)} ${us(r.ms)}    ${share.padStart(7)}  ${r.calls ? r.calls.toFixed(1) : ''}`.trimEnd());
  }
  console.log(`${'total: one sync create through HTTP (median, 1 client)'.padEnd(100)} ${us(total)}    100.0 %`);
}

export async function createBreakdown(): Promise<void> {
  const dev = await startWranglerDev({ config: resolve(import.meta.dirname, 'wrangler.breakdown.toml') });
  try {
    await call(dev, 'PUT', `/v1/clusters/${BREAKDOWN_CLUSTER}`, { 'cluster-id': 0 });
    for (const [i, n] of BREAKDOWN_NODES.entries()) await call(dev, 'PUT', `/v1/clusters/${BREAKDOWN_CLUSTER}/nodes/${n}`, { ipv4: `192.168.0.${i + 1}` });
    await getJson(dev, `/breakdown/trace?n=200&offset=0`); // warm-up: every label set's identity exists after it
    const run = await getJson<TracedRun>(dev, `/breakdown/trace?n=${TRACED_CREATES}&offset=400`);
    const objectSteps = await getJson<Record<string, number>>(dev, `/breakdown/object-steps?n=${STEP_ITERATIONS}`);
    const workerSteps = await getJson<Record<string, number>>(dev, `/breakdown/worker-steps?n=${STEP_ITERATIONS}`);
    const plain = (path: string) => () => call(dev, 'GET', path);
    const create = (offset: number) => (r: number) => call(dev, 'PUT', `/v1/clusters/${BREAKDOWN_CLUSTER}/nodes/${breakdownNode(offset + r)}/endpoints/cilium-local:0`, breakdownRequest(offset + r));
    const direct = (offset: number) => (r: number) => call(dev, 'POST', `/breakdown/create?node=${breakdownNode(offset + r)}`, breakdownRequest(offset + r));
    const kinds = (offset: number) => ({
      empty: plain('/breakdown/empty'), noop: plain('/breakdown/noop'), touch: plain('/breakdown/touch'), mirror: plain('/breakdown/mirror'),
      floor: () => call(dev, 'GET', `/v1/clusters/${BREAKDOWN_CLUSTER}/identities/1`),
      direct: direct(offset), create: create(offset + 50_000),
    });
    await interleavedMedians(20, kinds(200_000));
    const http = await interleavedMedians(HTTP_ROUNDS, kinds(300_000));

    const perCreate = (ms: number) => ms / run.creates;
    const inObject = perCreate(run.untracedMs);
    const objectRows: Row[] = Object.entries(run.stages).map(([stage, { ms, calls }]) => ({ stage: `object: ${stage.replace(/^object: /, '')}`, ms: perCreate(ms), calls: calls / run.creates }))
      .sort((a, b) => b.ms - a.ms);
    const rows: Row[] = [
      { stage: 'HTTP client ⇄ wrangler dev proxy ⇄ worker, no work (GET /breakdown/empty)', ms: http.empty },
      { stage: 'worker: Hono routing, auth, OpenAPI validation, cluster gate, c.json (create − the same without Hono)', ms: http.create - http.direct },
      { stage: 'auth alone (admin token compared)', ms: workerSteps['auth: admin token compared (hashes, constant time)']!, part: true },
      { stage: 'body JSON.parse + zod validation alone', ms: workerSteps['body: zod validation (EndpointChangeRequest)']!, part: true },
      { stage: 'answer JSON.stringify alone', ms: workerSteps['answer: JSON.stringify']!, part: true },
      { stage: "worker ⇄ object RPC with a create's arguments and answer, answer as JSON (mirror − empty)", ms: http.mirror - http.empty },
      { stage: 'the same RPC alone, timed in the worker', ms: workerSteps["RPC: round trip with a create's arguments and answer"]!, part: true },
      { stage: 'a no-op RPC alone, timed in the worker', ms: workerSteps['RPC: no-op round trip']!, part: true },
      ...objectRows,
      ...Object.entries(objectSteps).map(([stage, ms]) => ({ stage: `(alone) ${stage}`, ms, part: true })),
      { stage: "object: the tracer's own cost taken off (untraced − traced in-object create; > 0 is noise)", ms: inObject - perCreate(run.tracedMs) },
      { stage: 'commit wait (output gate until SQLite is durable) and noise: create without Hono − mirror − in-object create', ms: http.direct - http.mirror - inObject },
      { stage: 'for comparison, a one-row commit: touch − no-op RPC', ms: http.touch - http.noop, part: true },
    ];
    const total = http.create;
    console.log(`create breakdown: ${run.creates} traced creates in one object (50 label sets, 40 nodes), worker steps × ${STEP_ITERATIONS}, HTTP: ${HTTP_ROUNDS} interleaved rounds, one client`);
    printTable(rows, total);
    console.log(`in-object create: ${(1000 * inObject).toFixed(0)} µs untraced, ${(1000 * perCreate(run.tracedMs)).toFixed(0)} µs traced`);
    console.log(`same rounds, medians: floor GET /identities/1 ${(1000 * http.floor).toFixed(0)} µs (create ${(total / http.floor).toFixed(2)} × the floor), no-op RPC ${(1000 * http.noop).toFixed(0)} µs, one-row commit ${(1000 * http.touch).toFixed(0)} µs, create without Hono ${(1000 * http.direct).toFixed(0)} µs`);
  } finally {
    await dev.stop();
  }
}
