// `npm run bench -- breakdown`: where one sync endpoint create's time goes, measured. One
// `wrangler dev` of bench/breakdown-worker.ts; the object's stages are traced in place over
// thousands of creates (bench/stage-tracer.ts: the clock there advances only in whole ms, so the
// sums are unbiased, not any one create's figure); the worker's steps are timed alone in loops
// inside the worker; the HTTP figures are sequential requests from here (one client).
import { resolve } from 'node:path';
import { startWranglerDev, type WranglerDev } from '../test/e2e/wrangler-dev.js';
import { BREAKDOWN_CLUSTER, BREAKDOWN_NODES, breakdownNode, breakdownRequest, type TracedRun } from './breakdown-request.js';
import { describeMachine } from './machine.js';

const TRACED_CREATES = Number(process.env.BENCH_BREAKDOWN_CREATES ?? 2000);
const STEP_ITERATIONS = 5000;
const HTTP_REQUESTS = 400;

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

/** Mean milliseconds of `n` sequential requests made by `request(i)`. */
async function httpMean(n: number, request: (i: number) => Promise<Response>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await (await request(i)).arrayBuffer();
  return (performance.now() - t0) / n;
}

interface Row { stage: string; ms: number; part?: boolean }

function printTable(rows: Row[], total: number): void {
  const us = (ms: number) => (ms * 1000).toFixed(0).padStart(7);
  console.log(`${'stage'.padEnd(92)} ${'µs/create'.padStart(9)}  share`);
  for (const r of rows) {
    const share = r.part ? '' : `${((100 * r.ms) / total).toFixed(1).padStart(5)} %`;
    console.log(`${(r.part ? `    of which: ${r.stage}` : r.stage).padEnd(92)} ${us(r.ms)}    ${share}`);
  }
  console.log(`${'total: one sync create through HTTP (mean, 1 client)'.padEnd(92)} ${us(total)}  100.0 %`);
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
    const auth = () => call(dev, 'GET', `/v1/clusters/${BREAKDOWN_CLUSTER}/identities/1`);
    await httpMean(50, auth);
    const empty = await httpMean(HTTP_REQUESTS, () => fetch(`${dev.url}/breakdown/empty`));
    const floor = await httpMean(HTTP_REQUESTS, auth);
    const createAt = (i: number) => call(dev, 'PUT', `/v1/clusters/${BREAKDOWN_CLUSTER}/nodes/${breakdownNode(i)}/endpoints/cilium-local:0`, breakdownRequest(i));
    await httpMean(50, (i) => createAt(100_000 + i));
    const create = await httpMean(HTTP_REQUESTS, (i) => createAt(100_100 + i));

    const perCreate = (ms: number) => ms / run.creates;
    const objectRows = Object.entries(run.stages).map(([stage, ms]) => ({ stage: `object: ${stage.replace(/^object: /, '')}`, ms: perCreate(ms) }))
      .sort((a, b) => b.ms - a.ms);
    const rpc = workerSteps["RPC: round trip with a create's arguments and answer"]!;
    const rows: Row[] = [
      { stage: 'HTTP client ⇄ wrangler dev proxy ⇄ worker, no work (GET /breakdown/empty)', ms: empty },
      { stage: 'worker: auth (admin token compared)', ms: workerSteps['auth: admin token compared (timingSafeEqual)']! },
      { stage: 'worker: body JSON.parse + zod validation', ms: workerSteps['body: zod validation (EndpointChangeRequest)']! },
      { stage: 'JSON.parse alone', ms: workerSteps['body: JSON.parse']!, part: true },
      { stage: "worker ⇄ object RPC with a create's arguments and answer", ms: rpc },
      { stage: 'a no-op RPC', ms: workerSteps['RPC: no-op round trip']!, part: true },
      ...objectRows,
      ...Object.entries(objectSteps).map(([stage, ms]) => ({ stage: `(alone, in the domain code) ${stage}`, ms, part: true })),
      { stage: 'worker: answer JSON.stringify', ms: workerSteps['answer: JSON.stringify']! },
    ];
    const measured = rows.filter((r) => !r.part).reduce((s, r) => s + r.ms, 0);
    rows.push({ stage: 'rest: Hono routing + OpenAPI middleware, cluster gate, Response, scheduling (create − the rows above)', ms: create - measured });
    console.log(`create breakdown: ${run.creates} traced creates in one object (50 label sets, 40 nodes), worker steps × ${STEP_ITERATIONS}, HTTP × ${HTTP_REQUESTS} sequential`);
    printTable(rows, create);
    console.log(`in-object create: ${(1000 * perCreate(run.untracedMs)).toFixed(0)} µs untraced, ${(1000 * perCreate(run.tracedMs)).toFixed(0)} µs traced (the tracer's own cost is spread over the object rows)`);
    console.log(`floor GET /identities/1: ${(1000 * floor).toFixed(0)} µs mean; create ${(create / floor).toFixed(2)} × the floor`);
  } finally {
    await dev.stop();
  }
}
