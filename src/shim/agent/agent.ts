// The node agent: registers (or heartbeats), brings its maps to a snapshot, then follows the
// change feed — a WebSocket, with long-poll as the fallback — applying each batch to the map
// backend and persisting the applied revision, so that a restart resumes where it stopped.
// Stopping only stops: the node and its endpoints stay registered until their lease lapses or an
// admin deletes the node, so restarting the agent never takes pods out of the cluster.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Endpoint } from '../../api/endpoints.js';
import type { Node, NodeRegistration } from '../../api/nodes.js';
import { parseNodeToken } from '../../core/auth.js';
import { positionAfter, type FeedBatch, type FeedMessage, type FeedPage } from '../../core/feed.js';
import type { MapBackend } from '../../datapath/backends/backend.js';
import { IPCACHE_MAP, NODE_MAPS, POLICY_MAPS } from '../../datapath/maps.js';
import { ApiClient, ApiError } from '../api-client.js';
import { AckPacer } from './ack-pacer.js';
import { applyMapOps, readMaps } from './apply.js';
import { AppliedRevision } from './applied-revision.js';
import { datapathProblems } from './datapath-check.js';
import { RevisionAssembler } from './chunks.js';
import type { AgentMetrics } from './metrics.js';
import { NodeView } from './node-view.js';
import { planRevision } from './plan.js';
import { reconcileWithSnapshot } from './reconcile.js';
import { loadSnapshot, type Snapshot } from './snapshot.js';
import type { StateFile } from './state-file.js';
import { backoffDelayMs, heartbeatIntervalMs, type Backoff } from './timing.js';

export interface AgentOptions {
  url: string;
  cluster: string;
  node: string;
  /** The token from --token-file: the node's token, or an admin token to register with. */
  token: string;
  ipv4?: string;
  ipv6?: string;
  /** The lease a node this agent registers gets; an existing node keeps its own. 0: none. */
  leaseSeconds: number;
  backend: MapBackend;
  stateFile: StateFile;
  metrics: AgentMetrics;
  logger: Logger;
  /** Long-poll instead of the WebSocket. */
  longPoll?: boolean;
  /** Called after each batch is in the maps (observability, benchmarks). */
  onBatchApplied?: (batch: FeedBatch, appliedAt: number) => void;
}

const CONNECT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };
const FEED_BACKOFF: Backoff = { initialMs: 400, maxMs: 5_000 };
/**
 * The feed socket's options. No permessage-deflate (`ws` offers it by default): the control plane
 * would compress every message once per node socket, which at 100 nodes was most of the cost of
 * a commit's fan-out, for feed messages that are mostly small.
 */
export const FEED_SOCKET_OPTIONS = { perMessageDeflate: false } as const;

/**
 * Failures worth waiting out at start, with what to log: nothing listening, a gateway or server
 * error, a rate limit, or a cluster the admin has not put yet (as a kubelet waits for its API
 * server, a node agent deployed first waits for its cluster).
 */
function waitableFailure(e: unknown): string | undefined {
  if (e instanceof ApiError && e.code === 'cluster-not-found') return 'cluster not found (an admin creates it with PUT /v1/clusters/<cluster>); retrying';
  if (e instanceof ApiError) return e.status >= 500 || e.status === 429 ? 'control plane unreachable; retrying' : undefined;
  // fetch: connection refused, reset, DNS
  return e instanceof TypeError && e.message === 'fetch failed' ? 'control plane unreachable; retrying' : undefined;
}

function describeError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

const LONG_POLL_WAIT_SECONDS = 25;
/**
 * The applied revision is written at most this often while following the feed. Re-applying
 * events is idempotent, so after a crash resuming from a slightly older revision is safe.
 */
const PERSIST_INTERVAL_MS = 200;

export class Agent {
  private client: ApiClient;
  /** The revision the maps hold; the local API waits on it. */
  readonly revision = new AppliedRevision();
  /** Chunks of a revision larger than one message, held until its last one arrives. */
  private readonly chunks = new RevisionAssembler();
  private nodeToken: string | undefined;
  private stopped = false;
  private socket: WebSocket | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The node's lease as the control plane last reported it. */
  private leaseSeconds: number;
  /** A feed session was lost and none is up yet (the next one logs that it reconnected). */
  private feedDown = false;
  private following: Promise<void> | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  /** Aborts an in-flight long-poll when the agent stops. */
  private readonly stopping = new AbortController();
  /** The node's own state the maps are written from (policies it hosts, its endpoints, node addresses). */
  private view = new NodeView();

  constructor(private readonly o: AgentOptions) {
    this.client = new ApiClient({ url: o.url, cluster: o.cluster, token: o.token });
    this.leaseSeconds = o.leaseSeconds;
  }

  get appliedRevision(): number {
    return this.revision.value;
  }

  /**
   * What of a local endpoint's map entries differs from what the agent wrote for it (empty: in
   * sync): for CNI CHECK, through the local API.
   */
  datapathProblems(ep: Endpoint): string[] {
    return datapathProblems(this.o.node, this.o.backend, ep, this.view.policies.get(ep.identity.id));
  }

  private get applied(): number {
    return this.revision.value;
  }

  private set applied(revision: number) {
    this.revision.set(revision);
  }

  /** The control plane, with the node's token once registered. */
  get api(): ApiClient {
    return this.client;
  }

  /**
   * Opens the maps (refusing any of another layout), registers, catches up, and follows the feed
   * until stop(). Resolves once caught up; while the control plane is unreachable it retries with
   * a capped exponential backoff.
   */
  async start(): Promise<void> {
    // Resume from the saved revision only while the maps still hold what it describes: a
    // reboot empties bpffs, and a map created now starts empty.
    const saved = this.o.stateFile.read();
    this.applied = saved.appliedRevision;
    this.nodeToken = saved.nodeToken;
    // The policy maps pinned now are checked with the others: one of another layout is refused.
    const created = this.o.backend.openMaps([...NODE_MAPS, ...this.o.backend.pinnedMaps(POLICY_MAPS)]);
    const mapsLost = created.length > 0 || this.o.backend.isEmpty(IPCACHE_MAP);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.register();
        // Heartbeat from now on, so a long first sync cannot let the lease lapse.
        this.scheduleHeartbeat();
        if (this.applied === 0 || mapsLost) await this.resync();
        else {
          await this.reconcileOwn();
          await this.catchUpLongPoll();
        }
        break;
      } catch (e) {
        if (this.stopped) return;
        const waiting = waitableFailure(e);
        if (waiting === undefined) throw e;
        const delay = backoffDelayMs(attempt, CONNECT_BACKOFF);
        this.o.logger.warn({ url: this.o.url, cluster: this.o.cluster, error: describeError(e), attempt, retryInSeconds: delay / 1000 }, waiting);
        const gaveUp = await sleep(delay, false, { signal: this.stopping.signal }).catch(() => true);
        if (gaveUp) return;
      }
    }
    this.o.logger.info({ revision: this.applied }, 'maps in sync; following the feed');
    this.following = this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    clearTimeout(this.heartbeatTimer);
    this.socket?.close(1000, 'agent stopping');
    await this.following;
    await this.persist();
  }

  private get hasAdminToken(): boolean {
    return parseNodeToken(this.o.token) === undefined;
  }

  private async register(): Promise<void> {
    if (this.hasAdminToken) {
      // An admin token: register (or refresh) the node and keep the node token it issues.
      const admin = this.client.withToken(this.o.token);
      const existing = await admin.request<NodeRegistration>('GET', `/nodes/${this.o.node}`).catch((e: unknown) => {
        if (e instanceof ApiError && e.code === 'node-not-found') return undefined;
        throw e;
      });
      // An existing node keeps its lease (no lease-seconds in the PUT): only an admin changes it.
      if (existing && existing['lease-seconds'] !== this.o.leaseSeconds) {
        this.o.logger.warn(
          { node: this.o.node, nodeLeaseSeconds: existing['lease-seconds'], leaseSecondsFlag: this.o.leaseSeconds },
          'the node exists with another lease and keeps it (0: none); --lease-seconds applies when the agent registers a new node',
        );
      }
      const reg = await admin.request<NodeRegistration>('PUT', `/nodes/${this.o.node}`, {
        ...(this.o.ipv4 ?? existing?.ipv4 ? { ipv4: this.o.ipv4 ?? existing?.ipv4 } : {}),
        ...(this.o.ipv6 ?? existing?.ipv6 ? { ipv6: this.o.ipv6 ?? existing?.ipv6 } : {}),
        ...(existing ? {} : { 'lease-seconds': this.o.leaseSeconds }),
        'rotate-token': this.nodeToken === undefined && existing !== undefined,
      });
      if (reg.token) this.nodeToken = reg.token;
      this.leaseSeconds = reg['lease-seconds'];
      await this.persist();
    }
    this.client = this.client.withToken(this.nodeToken ?? this.o.token);
    try {
      await this.sendHeartbeat();
    } catch (e) {
      // A saved node token someone rotated: with the admin token, get a new one once.
      if (!(e instanceof ApiError && e.status === 401 && this.hasAdminToken && this.nodeToken)) throw e;
      this.nodeToken = undefined;
      await this.register();
    }
  }

  private async sendHeartbeat(): Promise<void> {
    let node: Node;
    try {
      node = await this.client.request<Node>('POST', `/nodes/${this.o.node}/heartbeat`, { 'applied-revision': this.applied });
    } catch (e) {
      // Applied beyond the cluster's revision: the cluster was deleted and put again. Its history
      // is new, so the maps must be reconciled from a snapshot (applied 0 makes the start resync).
      if (!(e instanceof ApiError && e.code === 'invalid-revision')) throw e;
      this.o.logger.warn({ applied: this.applied }, 'the cluster is behind the saved revision (it was re-created): resyncing');
      this.applied = 0;
      node = await this.client.request<Node>('POST', `/nodes/${this.o.node}/heartbeat`, { 'applied-revision': 0 });
    }
    this.leaseSeconds = node['lease-seconds'];
  }

  private scheduleHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    if (this.stopped) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeatTick().finally(() => this.scheduleHeartbeat()), heartbeatIntervalMs(this.leaseSeconds));
  }

  /**
   * The periodic heartbeat: a failure is logged and counted, and the next tick tries again. A
   * node that expired (404) or lost its token (401) registers again when the agent holds the
   * admin token; its next feed read then resyncs.
   */
  private async heartbeatTick(): Promise<void> {
    try {
      await this.sendHeartbeat();
    } catch (e) {
      this.o.metrics.errors.inc({ kind: 'heartbeat' });
      this.o.logger.error({ err: e }, 'heartbeat failed');
      if (e instanceof ApiError && (e.status === 401 || e.status === 404) && this.hasAdminToken && !this.stopped) {
        this.nodeToken = undefined;
        this.client = this.client.withToken(this.o.token);
        await this.register().catch((err: unknown) => this.o.logger.error({ err }, 're-registration failed'));
        this.socket?.close(4001, 'reconnect with the new token');
      }
    }
  }

  private schedulePersist(): void {
    this.o.metrics.appliedRevision.set(this.applied);
    this.persistTimer ??= setTimeout(() => {
      this.persistTimer = undefined;
      this.persist().catch((e: unknown) => {
        this.o.metrics.errors.inc({ kind: 'state-file' });
        this.o.logger.error({ err: e }, 'writing the state file failed');
      });
    }, PERSIST_INTERVAL_MS);
  }

  private persist(): Promise<void> {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    this.o.metrics.appliedRevision.set(this.applied);
    return this.o.stateFile.write({ appliedRevision: this.applied, ...(this.nodeToken ? { nodeToken: this.nodeToken } : {}) });
  }

  private countEntries(): void {
    for (const map of NODE_MAPS) this.o.metrics.mapEntries.set({ map: map.name }, this.o.backend.entrySet(map).size);
  }

  /** Brings the maps to a snapshot (without the ipcache: a restart, which leaves the pods' ipcache entries to the feed). */
  private reconcile(snapshot: Snapshot): number {
    const backend = this.o.backend;
    const current = readMaps(backend, NODE_MAPS);
    const ops = applyMapOps(backend, reconcileWithSnapshot(this.o.node, current, backend.pinnedMaps(POLICY_MAPS), snapshot.view, { ipcache: snapshot.ipcache?.entries, own: snapshot.own }));
    this.view = snapshot.view;
    return ops;
  }

  /** Reconciles the maps with a snapshot: missing and changed entries written, stale ones removed. */
  async resync(): Promise<void> {
    const end = this.o.metrics.applySeconds.startTimer();
    const snapshot = await loadSnapshot(this.client, this.o.node, true);
    const ops = this.reconcile(snapshot);
    this.applied = snapshot.ipcache!.revision;
    this.chunks.reset();
    await this.persist();
    end();
    this.o.metrics.resyncs.inc();
    this.countEntries();
    this.o.logger.info({ revision: this.applied, ops, ipcache: snapshot.ipcache!.entries.length, endpoints: snapshot.own.length, policies: snapshot.view.policies.size }, 'reconciled with snapshot');
  }

  /**
   * At a restart: the node's own maps reconciled with its state now (policy maps of endpoints
   * gone while the agent was down are removed), and the view rebuilt, before the feed resumes.
   */
  private async reconcileOwn(): Promise<void> {
    const snapshot = await loadSnapshot(this.client, this.o.node, false);
    const ops = this.reconcile(snapshot);
    this.o.logger.info({ revision: this.applied, ops, endpoints: snapshot.own.length, policies: snapshot.view.policies.size }, "reconciled the node's own maps");
  }

  /**
   * Applies batches in order, skipping any already applied, each revision once its last chunk
   * arrived; persists once.
   */
  applyBatches(batches: readonly FeedBatch[], clusterRevision: number): void {
    const end = this.o.metrics.applySeconds.startTimer();
    let events = 0;
    for (const chunk of batches) {
      if (chunk.revision <= this.applied) continue;
      const b = this.chunks.add(chunk);
      if (b === undefined) continue;
      const { ops, draft } = planRevision(this.o.node, this.view, b.events);
      applyMapOps(this.o.backend, ops);
      draft.commit();
      this.applied = b.revision;
      events += b.events.length;
      const appliedAt = Date.now();
      if (b['committed-at'] !== undefined) this.o.metrics.propagationSeconds.observe(Math.max(0, appliedAt - b['committed-at']) / 1000);
      this.o.onBatchApplied?.(b, appliedAt);
    }
    this.schedulePersist();
    end();
    this.o.metrics.eventsApplied.inc(events);
    this.o.metrics.lag.set(Math.max(0, clusterRevision - this.applied));
  }

  private async handlePage(page: FeedPage): Promise<void> {
    if (page.resync) await this.resync();
    else if (page.batches.length > 0) this.applyBatches(page.batches, page.revision);
  }

  /** Reads the feed without waiting until nothing is left (resume after a restart). */
  private async catchUpLongPoll(): Promise<void> {
    for (;;) {
      const page = await this.client.request<FeedPage>('GET', `/feed?${this.feedPosition()}`);
      await this.handlePage(page);
      if (page.resync || page.batches.length === 0 || positionAfter(page.batches[page.batches.length - 1]!).revision >= page.revision) return;
    }
  }

  /** The long-poll query of what the agent holds: its revision and the chunks of the next one. */
  private feedPosition(): string {
    const held = this.chunks.held(this.applied);
    return `since=${this.applied}${held > 0 ? `&chunk=${held}` : ''}`;
  }

  /** The ack of a WebSocket message: the applied revision, and the chunks of the next one held. */
  private ackMessage(): string {
    const held = this.chunks.held(this.applied);
    return JSON.stringify({ ack: this.applied, ...(held > 0 ? { chunk: held } : {}) });
  }

  private async follow(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.o.longPoll || failures >= 3) {
          const page = await this.client.request<FeedPage>('GET', `/feed?${this.feedPosition()}&wait=${LONG_POLL_WAIT_SECONDS}`, undefined, this.stopping.signal);
          this.noteFeedUp('long-poll');
          await this.handlePage(page);
          if (failures >= 3 && !this.o.longPoll) failures = 0; // try the WebSocket again next round
        } else {
          await this.followSocket();
          failures = 0;
        }
      } catch (e) {
        if (this.stopped) return;
        failures += 1;
        this.feedDown = true;
        this.o.metrics.errors.inc({ kind: 'feed' });
        this.o.logger.warn({ err: e, failures }, 'feed connection failed; retrying');
        await sleep(backoffDelayMs(failures, FEED_BACKOFF), undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    }
  }

  private noteFeedUp(transport: 'websocket' | 'long-poll'): void {
    if (this.feedDown) this.o.logger.info({ transport, revision: this.applied }, 'feed reconnected');
    this.feedDown = false;
  }

  /** One WebSocket session: resolves when it closes (after a resync, the loop reconnects). */
  private followSocket(): Promise<void> {
    const url = `${this.client.base.replace(/^http/, 'ws')}/feed/ws?since=${this.applied}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...FEED_SOCKET_OPTIONS, headers: { authorization: `Bearer ${this.client.config.token}` } });
      this.chunks.reset(); // the session starts from `applied`, with the next revision's first chunk
      this.socket = ws;
      let opened = false;
      let failure: unknown;
      let queue = Promise.resolve();
      const acks = new AckPacer(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(this.ackMessage());
      });
      ws.on('open', () => {
        opened = true;
        this.noteFeedUp('websocket');
      });
      ws.on('message', (data) => {
        queue = queue.then(async () => {
          const text = String(data);
          const page = JSON.parse(text) as FeedMessage;
          await this.handlePage(page);
          if (!page.resync) acks.applied(text.length, page['ack-now'] === true);
        }).catch((e: unknown) => {
          this.o.metrics.errors.inc({ kind: 'apply' });
          this.o.logger.error({ err: e }, 'applying a feed message failed');
          failure ??= e;
          ws.close();
        });
      });
      ws.on('error', (e) => (opened ? this.o.logger.warn({ err: e }, 'feed socket error') : reject(e)));
      // A failed apply rejects, so the follow loop backs off instead of reconnecting at once.
      ws.on('close', () => {
        acks.stop();
        if (opened) this.feedDown = true;
      });
      ws.on('close', () => void queue.then(() => (failure !== undefined ? reject(failure) : opened ? resolve() : reject(new Error('feed socket closed before opening')))));
    });
  }
}
