// ClusterDO: one SQLite-backed Durable Object per cluster. A thin shell: each RPC method checks
// that the cluster is provisioned (put in the registry) and the caller's scope, and runs one
// SQLite transaction around an operation in ./ops, returning expected failures as data (RPC drops
// an Error's own properties); bugs still throw. Committed feed batches wake long-polls and go out
// to the hibernating WebSockets.
import { DurableObject } from 'cloudflare:workers';
import type { ClusterConfig, ClusterConfigPatch } from '../src/api/config.js';
import type { Endpoint, EndpointChangeRequest, EndpointList } from '../src/api/endpoints.js';
import type { Identity, IdentityList, Ipcache } from '../src/api/identities.js';
import type { NodePolicy } from '../src/api/node-policy.js';
import type { Heartbeat, Node, NodeList, NodeRegistration, NodeSpec } from '../src/api/nodes.js';
import type { Namespace, NamespaceList, NamespaceSpec } from '../src/api/namespaces.js';
import type { IdentityPolicy, PolicyAnswer, PolicyList, PolicyMutation, PolicySelectors, TraceAnswer, TraceRequest } from '../src/api/policies.js';
import type { PolicyKind } from '../src/core/policy/rule.js';
import { authorize, PRINCIPAL_HEADER, type Principal, type Scope } from '../src/core/auth.js';
import { DomainError, type ErrorBody, type Result } from '../src/core/errors.js';
import type { FeedPage } from '../src/core/feed.js';
import { BackgroundWork } from './background-work.js';
import { CommitGroup } from './commit-group.js';
import { ClusterState, type CommittedChunk } from './cluster-state.js';
import { FeedSockets } from './feed-sockets.js';
import { NodeProgress } from './node-progress.js';
import { checkRetirable, provisionCluster, requireProvisioned } from './ops/cluster.js';
import { patchConfig } from './ops/config.js';
import { getNodePolicy } from './ops/node-policy.js';
import * as endpoints from './ops/endpoints.js';
import { readFeed } from './ops/feed.js';
import { nextGcAt } from './ops/gc.js';
import * as identities from './ops/identities.js';
import * as namespaces from './ops/namespaces.js';
import * as nodes from './ops/nodes.js';
import * as policies from './ops/policies.js';
import * as policyViews from './ops/policy-views.js';
import { CLUSTER_MIGRATIONS, migrate } from './schema.js';

const ADMIN: Scope = { kind: 'admin' };
const READER: Scope = { kind: 'reader' };
const onNode = (node: string): Scope => ({ kind: 'node', node });
/** The node whose feed a principal reads: its own for a node token, everything (null) for admin. */
const nodeOf = (p: Principal): string | null => (p.kind === 'node' ? p.node : null);
/** After a background batch failed, the alarm tries again no sooner than this. */
const FAILED_WORK_RETRY_MS = 60_000;
/** Who pays for a new identity: a node token's node; the admin is not rate limited. */
const chargeOf = (p: Principal): string | null => (p.kind === 'node' ? p.node : null);

export class ClusterDO extends DurableObject<Env> {
  /** Rebuilt from SQLite when the storage is wiped (retire). */
  protected state!: ClusterState;
  private readonly feedWaiters = new Set<() => void>();
  private sockets!: FeedSockets;
  private work!: BackgroundWork;
  /** Each node's applied revision and liveness, for creates with `wait-for-nodes`. */
  private progress!: NodeProgress;
  /** Set when background work failed: the alarm waits before trying again (in memory only). */
  private retryNotBefore = 0;
  /** The time source of every transaction and alarm; tests replace it to move time. */
  clock: () => number = () => Date.now();
  /** Endpoint mutations that arrive together commit together (see CommitGroup). */
  private readonly group = new CommitGroup((body) => this.transactTogether(body), (fn) => void scheduler.wait(0).then(fn));
  /** While a group runs: the chunks its transactions committed, published once the group commits. */
  private groupChunks: CommittedChunk[] | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, CLUSTER_MIGRATIONS);
    this.state = this.open();
  }

  /** Builds the state and its users over the (migrated) storage: at start and after a wipe. */
  private open(): ClusterState {
    // The cluster's name (the object is addressed by it) names the `cluster` entity's label.
    const state = new ClusterState(this.ctx.storage.sql, this.ctx.id.name ?? '');
    this.sockets = new FeedSockets(state, () => this.ctx.getWebSockets(), () => this.progress.waiting());
    this.progress = new NodeProgress();
    this.work = new BackgroundWork(
      state,
      (op) => this.transact(op),
      () => this.clock(),
      (expired) => expired.forEach((node) => this.nodeGone(node)),
    );
    return state;
  }

  /**
   * Runs `op` in one transaction and publishes what it committed; a failure rolls it back and
   * throws. The storage transaction runs inside one policy-engine unit, so a rollback undoes the
   * engine's writes too.
   */
  protected transact<T>(op: (now: number) => T): T {
    let value: T;
    try {
      value = this.state.inPolicyUnit(() => this.ctx.storage.transactionSync(() => op(this.clock())));
    } catch (e) {
      this.state.forgetCaches();
      throw e;
    }
    const chunks = this.state.takeCommitted();
    if (this.groupChunks) this.groupChunks.push(...chunks);
    else this.publish(chunks);
    return value;
  }

  /**
   * Runs a group's transactions (each `transact` inside becomes a nested one) in one outer
   * transaction and engine unit, and publishes what they committed once it commits.
   */
  private transactTogether(body: () => void): void {
    const chunks: CommittedChunk[] = [];
    this.groupChunks = chunks;
    try {
      this.state.inPolicyUnit(() => this.ctx.storage.transactionSync(body));
    } catch (e) {
      this.state.forgetCaches();
      throw e;
    } finally {
      this.groupChunks = undefined;
    }
    this.publish(chunks);
  }

  /** Checks the cluster exists and authorizes, then runs `op` in one transaction (see `transact`). */
  protected run<T>(principal: Principal, scope: Scope, op: (now: number) => T): Result<T> {
    return this.attempt((now) => {
      requireProvisioned(this.state);
      authorize(principal, scope, (node) => this.state.nodes.tokenHash(node));
      return op(now);
    });
  }

  /**
   * As `run`, in the commit group of the requests that arrived together (see CommitGroup), with
   * the cluster revision the transaction committed.
   */
  protected runGrouped<T extends object>(principal: Principal, scope: Scope, op: (now: number) => T): Promise<Result<T & { revision: number }>> {
    return this.group.submit(() => this.withRevision(this.run(principal, scope, op)));
  }

  /** Runs `op` in one transaction (see `transact`); a DomainError comes back as data. */
  private attempt<T>(op: (now: number) => T): Result<T> {
    try {
      return { ok: true, value: this.transact(op) };
    } catch (e) {
      if (e instanceof DomainError) return { ok: false, error: e.toBody() };
      throw e;
    }
  }

  /**
   * Hands committed batches to long-polls and WebSockets (these after the request's answer; see
   * FeedSockets.publish). The mutation has committed by now, so a failure here must not fail the
   * request: subscribers catch up from the feed table.
   */
  private publish(chunks: CommittedChunk[]): void {
    if (chunks.length === 0) return;
    for (const wake of [...this.feedWaiters]) wake();
    this.sockets.publish(chunks);
  }

  /** A node's token was rotated or the node is gone: its open feed sockets lose their access. */
  private closeNodeSockets(node: string): void {
    for (const ws of this.ctx.getWebSockets(node)) this.sockets.close(ws, 4001, 'node token revoked');
  }

  /** A node expired or is being deleted: no feed for it, and no create waits for it. */
  private nodeGone(node: string): void {
    this.closeNodeSockets(node);
    this.progress.forget(node);
  }

  /** Nodes with an open feed WebSocket. */
  private connectedNodes(): Set<string> {
    const nodes = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState === WebSocket.READY_STATE_OPEN) for (const tag of this.ctx.getTags(ws)) nodes.add(tag);
    }
    return nodes;
  }

  /**
   * Waits until every live node (see NodeProgress) that still exists has applied `revision`, at
   * most the cluster's `wait-for-nodes-timeout`; returns the nodes that had not.
   */
  private async waitForNodes(revision: number): Promise<string[]> {
    const config = this.state.config();
    const live = this.progress.liveNodes(this.clock(), config['node-liveness-seconds'] * 1000, this.connectedNodes());
    const nodes = [...live].filter((n) => this.state.nodes.exists(n) && !this.state.nodes.isDeleting(n));
    return this.progress.waitFor(nodes, revision, config['wait-for-nodes-timeout'] * 1000);
  }

  /**
   * Sets the alarm for the next identity GC, lease expiry, pending node removal or namespace
   * relabel, whichever comes first (now when `remaining` work is left), but not before a failed
   * batch may be retried.
   */
  private async scheduleAlarm(remaining = false): Promise<void> {
    const due = [nextGcAt(this.state), this.state.nodes.nextLeaseExpiry(), this.state.nodes.oldestDeletion(), remaining || this.state.namespaces.hasRelabels() ? this.clock() : undefined]
      .filter((t): t is number => t !== undefined);
    if (due.length === 0) return;
    const next = Math.max(Math.min(...due), this.retryNotBefore);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
  }

  /**
   * A mutation's answer with the cluster revision it committed (the current one for a no-op):
   * taken right after its transaction, before any await lets another request in.
   */
  private withRevision<T extends object>(result: Result<T>): Result<T & { revision: number }> {
    return result.ok ? { ok: true, value: { ...result.value, revision: this.state.revision() } } : result;
  }

  private async thenSchedule<T>(result: Result<T>): Promise<Result<T>> {
    if (result.ok) await this.scheduleAlarm();
    return result;
  }

  /** Lease expiry, node removal and identity GC, in bounded batches; re-arms while work remains. */
  override async alarm(): Promise<void> {
    // A cluster not (yet) put does no work: putting it schedules the alarm again.
    if (this.state.clusterId() === undefined) return;
    const outcome = await this.work.run();
    if (outcome.failed) this.retryNotBefore = this.clock() + FAILED_WORK_RETRY_MS;
    await this.scheduleAlarm(outcome.remaining);
  }

  /** Called by the registry when the cluster is put: stores its cluster ID (see provisionCluster). */
  async provision(clusterId: number): Promise<Result<null>> {
    return this.thenSchedule(
      this.attempt(() => {
        provisionCluster(this.state, clusterId);
        return null;
      }),
    );
  }

  /**
   * Called by the registry when the cluster is deleted: refuses while nodes remain, else closes the
   * feed sockets and wipes the storage. Until the cluster is put again every request then answers
   * `cluster-not-found`, also those routed here by a worker whose cache still knows the cluster.
   */
  async retire(): Promise<Result<null>> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const check = this.attempt(() => checkRetirable(this.state));
      if (!check.ok) return check;
      for (const ws of this.ctx.getWebSockets()) this.sockets.close(ws, 4004, 'cluster deleted');
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      migrate(this.ctx.storage, CLUSTER_MIGRATIONS);
      this.state = this.open();
      for (const wake of [...this.feedWaiters]) wake();
      return { ok: true, value: null };
    });
  }

  async putNode(p: Principal, name: string, spec: NodeSpec): Promise<Result<{ created: boolean; node: NodeRegistration }>> {
    const result = this.run(p, ADMIN, (now) => nodes.putNode(this.state, name, spec, now));
    if (result.ok && spec['rotate-token']) this.closeNodeSockets(name);
    return this.thenSchedule(result.ok ? { ok: true, value: { ...result.value, node: { ...result.value.node, revision: this.state.revision() } } } : result);
  }

  async getNode(p: Principal, name: string): Promise<Result<Node>> {
    return this.run(p, ADMIN, () => nodes.getNode(this.state, name));
  }

  /** Node tokens may list (as every Cilium agent reads every CiliumNode): an agent writes each node's addresses in its ipcache. */
  async listNodes(p: Principal, args: { limit?: number; cursor?: string }): Promise<Result<NodeList>> {
    return this.run(p, READER, () => nodes.listNodes(this.state, args));
  }

  async heartbeat(p: Principal, name: string, beat: Heartbeat): Promise<Result<Node>> {
    const result = this.run(p, onNode(name), (now) => nodes.heartbeat(this.state, name, beat, now));
    if (result.ok) this.progress.record(name, beat['applied-revision'], this.clock());
    return this.thenSchedule(result);
  }

  /**
   * Deletes a node: marks it deleting (one transaction: its token is void from then on), then
   * removes its endpoints in bounded transactions, one revision each, yielding between them, and
   * the node with the last of them; answers once the node is gone. Should this request stop
   * half-way, the alarm finishes the removal. `endpoints-removed`: the endpoints it had when
   * this request began.
   */
  async deleteNode(p: Principal, name: string): Promise<Result<{ name: string; 'endpoints-removed': number; revision: number }>> {
    const begun = this.run(p, ADMIN, (now) => nodes.beginNodeDeletion(this.state, name, now));
    if (!begun.ok) return begun;
    this.nodeGone(name);
    await this.scheduleAlarm();
    const outcome = await this.work.removeNode(name);
    if (!outcome.gone) {
      return { ok: false, error: { code: 'node-deletion-incomplete', message: `node ${name}: a removal batch failed; it stays deleting and the alarm retries` } };
    }
    return { ok: true, value: { name, 'endpoints-removed': begun.value, revision: this.state.revision() } };
  }

  /**
   * Creates an endpoint. With `wait-for-nodes`, answers once every live node has applied the
   * revision holding its ipcache entries, or after the timeout with the nodes that had not.
   */
  async createEndpoint(p: Principal, cluster: string, node: string, ref: string, req: EndpointChangeRequest): Promise<Result<endpoints.CreateOutcome>> {
    const result = await this.runGrouped(p, onNode(node), (now) => endpoints.createEndpoint(this.state, cluster, node, ref, req, now, chargeOf(p)));
    if (!result.ok) return result;
    const { revision, ...outcome } = result.value;
    const lagging = req['wait-for-nodes'] ? { 'lagging-nodes': await this.waitForNodes(revision) } : {};
    return { ok: true, value: { ...outcome, endpoint: { ...outcome.endpoint, revision, ...lagging } } };
  }

  async getEndpoint(p: Principal, node: string, ref: string): Promise<Result<Endpoint>> {
    return this.run(p, onNode(node), () => endpoints.getEndpoint(this.state, node, ref));
  }

  async listEndpoints(p: Principal, args: endpoints.EndpointListArgs): Promise<Result<EndpointList>> {
    return this.run(p, args.node === undefined ? ADMIN : onNode(args.node), () => endpoints.listEndpoints(this.state, args));
  }

  async patchEndpointLabels(p: Principal, node: string, ref: string, add: string[], del: string[]): Promise<Result<Endpoint>> {
    return this.thenSchedule(await this.runGrouped(p, onNode(node), (now) => endpoints.patchLabels(this.state, node, ref, add, del, now, chargeOf(p))));
  }

  async regenerateEndpoint(p: Principal, node: string, ref: string): Promise<Result<Endpoint>> {
    return this.thenSchedule(await this.runGrouped(p, onNode(node), (now) => endpoints.regenerateEndpoint(this.state, node, ref, now, chargeOf(p))));
  }

  async deleteEndpoint(p: Principal, node: string, ref: string): Promise<Result<Endpoint>> {
    return this.thenSchedule(await this.runGrouped(p, onNode(node), (now) => endpoints.deleteEndpoint(this.state, node, ref, now)));
  }

  async listIdentities(p: Principal, args: identities.IdentityListArgs): Promise<Result<IdentityList>> {
    return this.run(p, READER, () => identities.listIdentities(this.state, args));
  }

  async getIdentity(p: Principal, nid: number): Promise<Result<Identity>> {
    return this.run(p, READER, () => identities.getIdentity(this.state, nid));
  }

  async getIpcache(p: Principal, args: { limit?: number; cursor?: string }): Promise<Result<Ipcache>> {
    return this.run(p, READER, () => identities.getIpcache(this.state, args));
  }

  async putNamespace(p: Principal, name: string, spec: NamespaceSpec): Promise<Result<{ created: boolean; namespace: Namespace }>> {
    return this.thenSchedule(this.run(p, ADMIN, (now) => namespaces.putNamespace(this.state, name, spec, now)));
  }

  async getNamespace(p: Principal, name: string): Promise<Result<Namespace>> {
    return this.run(p, READER, () => namespaces.getNamespace(this.state, name));
  }

  async listNamespaces(p: Principal, args: { limit?: number; cursor?: string }): Promise<Result<NamespaceList>> {
    return this.run(p, READER, () => namespaces.listNamespaces(this.state, args));
  }

  async deleteNamespace(p: Principal, name: string): Promise<Result<Namespace>> {
    return this.thenSchedule(this.run(p, ADMIN, (now) => namespaces.deleteNamespace(this.state, name, now)));
  }

  /** The node's policy snapshot, one page (own node token or admin). */
  async getNodePolicy(p: Principal, node: string, args: { limit?: number; cursor?: string }): Promise<Result<NodePolicy>> {
    return this.run(p, onNode(node), () => getNodePolicy(this.state, node, args));
  }

  async getConfig(p: Principal): Promise<Result<ClusterConfig>> {
    return this.run(p, ADMIN, () => this.state.config());
  }

  async patchConfig(p: Principal, patch: ClusterConfigPatch): Promise<Result<ClusterConfig>> {
    return this.thenSchedule(this.withRevision(this.run(p, ADMIN, () => patchConfig(this.state, patch))));
  }

  /** Puts a sanitised policy (see thenRegenerate for the identities it leaves stale). */
  async putPolicy(p: Principal, input: policies.PolicyInput): Promise<Result<{ created: boolean } & PolicyMutation>> {
    return this.thenRegenerate(this.run(p, ADMIN, (now) => policies.putPolicy(this.state, input, now)));
  }

  async deletePolicy(p: Principal, kind: PolicyKind, namespace: string | null, name: string): Promise<Result<PolicyMutation>> {
    return this.thenRegenerate(this.run(p, ADMIN, (now) => policies.deletePolicy(this.state, kind, namespace, name, now)));
  }

  async getPolicy(p: Principal, kind: PolicyKind, namespace: string | null, name: string): Promise<Result<PolicyAnswer>> {
    return this.run(p, READER, () => policies.getPolicy(this.state, kind, namespace, name));
  }

  async listPolicies(p: Principal, kind: PolicyKind, args: { namespace?: string; limit?: number; cursor?: string }): Promise<Result<PolicyList>> {
    return this.run(p, READER, () => policies.listPolicies(this.state, kind, args));
  }

  async getPolicySelectors(p: Principal, kind: PolicyKind, namespace: string | null, name: string, args: { limit?: number }): Promise<Result<PolicySelectors>> {
    return this.run(p, READER, () => policyViews.policySelectors(this.state, kind, namespace, name, args.limit));
  }

  async getIdentityPolicy(p: Principal, nid: number): Promise<Result<IdentityPolicy>> {
    return this.run(p, READER, () => policyViews.identityPolicy(this.state, nid));
  }

  async getEndpointPolicy(p: Principal, node: string, ref: string): Promise<Result<IdentityPolicy>> {
    return this.run(p, onNode(node), () => policyViews.endpointPolicy(this.state, node, ref));
  }

  /** The parties are resolved in a transaction; the engine's what-if trace runs outside one. */
  async tracePolicy(p: Principal, req: TraceRequest): Promise<Result<TraceAnswer>> {
    const parties = this.run(p, READER, () => policyViews.traceParties(this.state, req));
    if (!parties.ok) return parties;
    return { ok: true, value: policyViews.trace(this.state, parties.value) };
  }

  /**
   * After a policy change: the stale identities its transaction left (beyond the first chunk) are
   * recomputed by the alarm, armed for now, chunk by chunk with requests answered in between.
   */
  private async thenRegenerate<T>(result: Result<T>): Promise<Result<T>> {
    if (result.ok) await this.scheduleAlarm(this.state.identities.policyStale(0, 1).length > 0);
    return result;
  }

  /**
   * Long-poll: batches after `since` (and its next revision's first `chunk` chunks), as the
   * principal sees them, waiting up to `waitSeconds` for a commit when there are none.
   */
  async readFeed(p: Principal, since: number, waitSeconds: number, chunk = 0): Promise<Result<FeedPage>> {
    const deadline = Date.now() + waitSeconds * 1000;
    const node = nodeOf(p);
    let polling: (() => void) | undefined;
    try {
      for (;;) {
        const page = this.run(p, READER, () => readFeed(this.state, since, {}, { chunk, node }));
        // A node's long-poll says it has applied `since`, and keeps it live while it waits.
        if (page.ok && node !== null) polling ??= this.progress.pollStarted(node, since, this.clock());
        const remaining = deadline - Date.now();
        if (!page.ok || page.value.resync || page.value.batches.length > 0 || remaining <= 0) return page;
        await this.feedCommitted(remaining);
      }
    } finally {
      polling?.();
    }
  }

  /** Resolves at the next commit, or after `ms`. */
  private feedCommitted(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.feedWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.feedWaiters.add(wake);
    });
  }

  /** WebSocket upgrade for the feed, forwarded by the worker with the caller's principal. */
  override async fetch(request: Request): Promise<Response> {
    const principal = JSON.parse(request.headers.get(PRINCIPAL_HEADER) ?? 'null') as Principal | null;
    const since = Number(new URL(request.url).searchParams.get('since') ?? '0');
    // A refusal carries the error body; the worker maps its code to the HTTP status.
    const refuse = (error: ErrorBody) => Response.json({ error }, { status: 400 });
    if (!principal || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return refuse({ code: 'invalid-request', message: 'expected a WebSocket upgrade' });
    const allowed = this.run(principal, READER, () => readFeed(this.state, since, { limit: 0 }));
    if (!allowed.ok) return refuse(allowed.error);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const node = nodeOf(principal);
    this.ctx.acceptWebSocket(server, node === null ? [] : [node]);
    this.sockets.accept(server, node, since);
    if (node !== null) this.progress.record(node, since, this.clock());
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const acked = this.sockets.acknowledge(ws, message);
    if (acked && acked.node !== null) this.progress.record(acked.node, acked.revision, this.clock());
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.sockets.forget(ws);
    // Answer the peer's close; 1005/1006 carry no code that may be echoed.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // already closed
    }
  }
}
