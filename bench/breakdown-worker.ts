// Create-breakdown worker (bench/create-breakdown.ts): the product's HTTP app and RegistryDO, with
// ClusterDO extended by a create loop whose stages are traced in place (bench/stage-tracer.ts:
// each SQL statement, the label filter, the policy engine, the feed, the transaction, the domain
// code between them) and by loops that time one stage alone (worker side: auth, body parse and
// validation, RPC, answer JSON; object side: request normalisation and hashing), and routes that
// leave out one part of the create each (no work, a no-op or one-commit RPC, the create's RPC
// without the create, the create without the Hono app) for HTTP timings. Nothing of the product
// is changed: the tracer wraps methods of this object's own instances and of SqlStorage.
import { EndpointChangeRequest } from '../src/api/endpoints.js';
import { ClusterDO } from '../durable-objects/cluster-do.js';
import * as endpoints from '../durable-objects/ops/endpoints.js';
import { normaliseCreate } from '../src/core/endpoint-request.js';
import { identityKeyOf, sha256Hex } from '../src/core/identity-key.js';
import { composeEndpointLabels } from '../src/core/endpoint-labels.js';
import type { PolicyTxn } from '../src/core/policy/engine.js';
import { createApp } from '../worker/app.js';
import { isAdminToken } from '../worker/auth.js';
import { BREAKDOWN_CLUSTER, breakdownNode, breakdownRequest, type TracedRun } from './breakdown-request.js';
import { BenchClusterDO } from './bench-worker.js';
import { StageTracer, statementLabel } from './stage-tracer.js';

export { RegistryDO } from '../durable-objects/registry-do.js';

type BreakdownEnv = Omit<Env, 'CLUSTER'> & { CLUSTER: DurableObjectNamespace<BreakdownClusterDO> };
type CreateAnswer = Awaited<ReturnType<ClusterDO['createEndpoint']>>;

const ADMIN = { kind: 'admin' } as const;
const OUTER = 'object: RPC method (run, authorize, publish, answer)';
const DOMAIN = 'object: domain code (ops/, core/: normalise, checks, rows, model)';

/** Milliseconds per iteration of `fn`, over `n` iterations. */
async function perIteration(n: number, fn: (i: number) => unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (performance.now() - t0) / n;
}

/** The bench object (noop, touch: the RPC and one-commit floors) with the create traced stage by stage. */
export class BreakdownClusterDO extends BenchClusterDO {
  private readonly tracer = new StageTracer();
  private traced = false;
  private lastAnswer: CreateAnswer | undefined;

  /** Takes the create's arguments and gives back a create's answer: the RPC's own cost. */
  async mirror(_p: unknown, _cluster: string, _node: string, _ref: string, _req: EndpointChangeRequest): Promise<CreateAnswer | undefined> {
    return this.lastAnswer;
  }

  /**
   * One create as its commit group runs it (its own transaction, answered with its revision),
   * without the group's wait for the requests queued with it: the object's own work.
   */
  private createAlone(node: string, i: number): CreateAnswer {
    const result = this.run(ADMIN, { kind: 'node', node }, (now) => endpoints.createEndpoint(this.state, BREAKDOWN_CLUSTER, node, 'cilium-local:0', breakdownRequest(i), now, null));
    return result.ok ? { ok: true, value: { ...result.value, endpoint: { ...result.value.endpoint, revision: this.state.revision() } } } : result;
  }

  /** Creates `n` endpoints from `offset` untraced, then `n` more traced: the time of each stage. */
  async traceCreates(n: number, offset: number): Promise<TracedRun> {
    this.installTracing();
    const createAll = async (from: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = from; i < from + n; i++) {
        this.lastAnswer = this.createAlone(breakdownNode(i), i);
        if (!this.lastAnswer.ok) throw new Error(`create ${i}: ${JSON.stringify(this.lastAnswer.error)}`);
      }
      return performance.now() - t0;
    };
    const untracedMs = await createAll(offset);
    this.tracer.start(OUTER);
    const tracedMs = await createAll(offset + n);
    return { creates: n, untracedMs, tracedMs, stages: this.tracer.stop() };
  }

  /** Milliseconds per call of the object-side steps that are module functions (not traceable in place). */
  async objectSteps(n: number): Promise<Record<string, number>> {
    const cluster = this.ctx.id.name ?? '';
    const req = breakdownRequest(0);
    const labels = composeEndpointLabels({ labels: req.labels!, namespace: req['k8s-namespace']!, cluster });
    const canonical = identityKeyOf(labels).canonical;
    return {
      'normaliseCreate (labels parsed, sorted, fingerprint hashed)': await perIteration(n, (i) => normaliseCreate('cilium-local:0', breakdownRequest(i), cluster)),
      'identityKeyOf (canonical form + SHA-256)': await perIteration(n, () => identityKeyOf(labels)),
      'one SHA-256 of the canonical labels': await perIteration(n, () => sha256Hex(canonical)),
    };
  }

  /** Wraps the object's storage, state and engine so each stage charges its own time while tracing is on. */
  private installTracing(): void {
    if (this.traced) return;
    this.traced = true;
    const t = this.tracer;
    const sql = this.ctx.storage.sql;
    const sqlProto = Object.getPrototypeOf(sql) as SqlStorage;
    const exec = sqlProto.exec;
    const labels = new WeakMap<object, string>();
    let cursorProto: Record<string, unknown> | undefined;
    const traceCursor = (cursor: object) => {
      if (cursorProto) return;
      cursorProto = Object.getPrototypeOf(cursor) as Record<string, unknown>;
      for (const name of ['toArray', 'one', 'next', 'raw']) {
        const original = cursorProto[name] as (...a: unknown[]) => unknown;
        cursorProto[name] = function (this: object, ...args: unknown[]) {
          return t.within(labels.get(this) ?? 'SQL: other', () => original.apply(this, args), false);
        };
      }
    };
    sqlProto.exec = function (this: SqlStorage, query: string, ...bindings: unknown[]) {
      const label = `SQL ${statementLabel(query)}`;
      const cursor = t.within(label, () => exec.call(this, query, ...bindings));
      labels.set(cursor, label);
      traceCursor(cursor);
      return cursor;
    } as SqlStorage['exec'];
    const storage = this.ctx.storage as { transactionSync: <T>(fn: () => T) => T };
    const transactionSync = storage.transactionSync.bind(this.ctx.storage);
    storage.transactionSync = (fn) => t.within('SQLite transaction (begin, commit)', () => transactionSync(() => t.within(DOMAIN, fn)));
    const state = this.state;
    const engine = state.engine as { transaction: <T>(fn: (tx: PolicyTxn) => T) => { value: T; changed: number[] } };
    const transaction = engine.transaction.bind(state.engine);
    const txProxy = (tx: PolicyTxn): PolicyTxn => new Proxy(tx, {
      get: (target, key) => {
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (...args: unknown[]) => t.within(`policy: ${String(key)}`, () => value.apply(target, args)) : value;
      },
    });
    engine.transaction = (fn) => t.within('policy: engine unit (undo log)', () => transaction((tx) => t.within(DOMAIN, () => fn(txProxy(tx)))));
    t.traceMethods(state.engine, 'policy: ', ['policyOf', 'isStale']);
    const labelFilter = state.labelFilter.bind(state);
    state.labelFilter = () => {
      const filter = labelFilter();
      return (set) => t.within('label filter', () => filter(set));
    };
    t.traceMethods(state, 'feed: ', ['emit', 'bumpRevision', 'takeCommitted']);
  }
}

/** Milliseconds per call of the worker-side steps of a create, each alone. */
async function workerSteps(env: BreakdownEnv, n: number): Promise<Record<string, number>> {
  const stub = env.CLUSTER.getByName(BREAKDOWN_CLUSTER);
  const req = breakdownRequest(0);
  const body = JSON.stringify(req);
  const admin = String(env.IDPLANE_ADMIN_TOKEN);
  const answer = await stub.mirror(ADMIN, BREAKDOWN_CLUSTER, breakdownNode(0), 'cilium-local:0', req);
  if (!answer?.ok) throw new Error('no create answer yet: trace creates first');
  return {
    'auth: admin token compared (hashes, constant time)': await perIteration(n, () => isAdminToken(admin, admin)),
    'body: JSON.parse': await perIteration(n, () => JSON.parse(body)),
    'body: zod validation (EndpointChangeRequest)': await perIteration(n, () => EndpointChangeRequest.parse(JSON.parse(body))),
    'RPC: no-op round trip': await perIteration(n, () => stub.noop()),
    "RPC: round trip with a create's arguments and answer": await perIteration(n, () => stub.mirror(ADMIN, BREAKDOWN_CLUSTER, breakdownNode(0), 'cilium-local:0', req)),
    'answer: JSON.stringify': await perIteration(n, () => JSON.stringify(answer.value.endpoint)),
  };
}

const app = createApp();

/** The create without the Hono app: body validated, the object's create, its endpoint as JSON. */
async function directCreate(request: Request, env: BreakdownEnv, node: string): Promise<Response> {
  const req = EndpointChangeRequest.parse(await request.json());
  const answer = await env.CLUSTER.getByName(BREAKDOWN_CLUSTER).createEndpoint(ADMIN, BREAKDOWN_CLUSTER, node, 'cilium-local:0', req);
  return answer.ok ? Response.json(answer.value.endpoint, { status: 201 }) : Response.json(answer.error, { status: 409 });
}

/** A create's RPC and answer without the create: the object gives back the last create's answer. */
async function mirroredCreate(env: BreakdownEnv): Promise<Response> {
  const answer = await env.CLUSTER.getByName(BREAKDOWN_CLUSTER).mirror(ADMIN, BREAKDOWN_CLUSTER, breakdownNode(0), 'cilium-local:0', breakdownRequest(0));
  return answer?.ok ? Response.json(answer.value.endpoint, { status: 201 }) : new Response('no create answer yet', { status: 409 });
}

export default {
  async fetch(request: Request, env: BreakdownEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '0');
    switch (url.pathname) {
      case '/breakdown/empty': return new Response('ok');
      case '/breakdown/noop': return Response.json(await env.CLUSTER.getByName(BREAKDOWN_CLUSTER).noop());
      case '/breakdown/touch': return Response.json(await env.CLUSTER.getByName(BREAKDOWN_CLUSTER).touch());
      case '/breakdown/mirror': return mirroredCreate(env);
      case '/breakdown/create': return directCreate(request, env, url.searchParams.get('node') ?? '');
      case '/breakdown/trace': return Response.json(await env.CLUSTER.getByName(BREAKDOWN_CLUSTER).traceCreates(n, Number(url.searchParams.get('offset') ?? '0')));
      case '/breakdown/object-steps': return Response.json(await env.CLUSTER.getByName(BREAKDOWN_CLUSTER).objectSteps(n));
      case '/breakdown/worker-steps': return Response.json(await workerSteps(env, n));
      default: return app.fetch(request, env, ctx);
    }
  },
};
