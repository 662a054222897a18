// ClusterDO: one SQLite-backed Durable Object per cluster. A thin shell: each RPC method runs one
// SQLite transaction around an operation in ./ops and returns expected failures as data, since
// RPC drops an Error's own properties. Bugs still throw.
import { DurableObject } from 'cloudflare:workers';
import type { ClusterConfig, ClusterConfigPatch } from '../src/api/config.js';
import type { Endpoint, EndpointChangeRequest, EndpointList } from '../src/api/endpoints.js';
import type { Identity, IdentityList, Ipcache } from '../src/api/identities.js';
import type { Node, NodeList, NodeSpec } from '../src/api/nodes.js';
import { DomainError, type Result } from '../src/core/errors.js';
import { ClusterState } from './cluster-state.js';
import * as endpoints from './ops/endpoints.js';
import { collectIdentities, nextGcAt } from './ops/gc.js';
import * as identities from './ops/identities.js';
import * as nodes from './ops/nodes.js';
import { patchConfig } from './ops/config.js';
import { migrate } from './schema.js';

export class ClusterDO extends DurableObject<Env> {
  protected readonly state: ClusterState;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage);
    this.state = new ClusterState(ctx.storage.sql);
  }

  /** Runs `op` in one transaction; a DomainError rolls it back and comes back as data. */
  private run<T>(op: (now: number) => T): Result<T> {
    try {
      return { ok: true, value: this.ctx.storage.transactionSync(() => op(Date.now())) };
    } catch (e) {
      this.state.forgetCaches();
      if (e instanceof DomainError) return { ok: false, error: e.toBody() };
      throw e;
    }
  }

  /** A mutation that may release identities: make sure the GC alarm will look at them. */
  private async runReleasing<T>(op: (now: number) => T): Promise<Result<T>> {
    const result = this.run(op);
    if (result.ok) await this.scheduleGc();
    return result;
  }

  private async scheduleGc(): Promise<void> {
    const due = nextGcAt(this.state);
    if (due === undefined) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(due);
  }

  override async alarm(): Promise<void> {
    const outcome = this.run((now) => collectIdentities(this.state, now));
    if (outcome.ok && outcome.value.nextRunAt !== undefined) await this.ctx.storage.setAlarm(outcome.value.nextRunAt);
  }

  async putNode(name: string, spec: NodeSpec): Promise<Result<{ created: boolean; node: Node }>> {
    return this.run((now) => nodes.putNode(this.state, name, spec, now));
  }

  async getNode(name: string): Promise<Result<Node>> {
    return this.run(() => nodes.getNode(this.state, name));
  }

  async listNodes(): Promise<Result<NodeList>> {
    return this.run(() => nodes.listNodes(this.state));
  }

  async deleteNode(name: string): Promise<Result<{ name: string; 'endpoints-removed': number }>> {
    return this.runReleasing((now) => nodes.deleteNode(this.state, name, now));
  }

  async createEndpoint(cluster: string, node: string, ref: string, req: EndpointChangeRequest): Promise<Result<endpoints.CreateOutcome>> {
    return this.run((now) => endpoints.createEndpoint(this.state, cluster, node, ref, req, now));
  }

  async getEndpoint(node: string, ref: string): Promise<Result<Endpoint>> {
    return this.run(() => endpoints.getEndpoint(this.state, node, ref));
  }

  async listEndpoints(args: endpoints.EndpointListArgs): Promise<Result<EndpointList>> {
    return this.run(() => endpoints.listEndpoints(this.state, args));
  }

  async patchEndpointLabels(node: string, ref: string, add: string[], del: string[]): Promise<Result<Endpoint>> {
    return this.runReleasing((now) => endpoints.patchLabels(this.state, node, ref, add, del, now));
  }

  async regenerateEndpoint(node: string, ref: string): Promise<Result<Endpoint>> {
    return this.runReleasing((now) => endpoints.regenerateEndpoint(this.state, node, ref, now));
  }

  async deleteEndpoint(node: string, ref: string): Promise<Result<Endpoint>> {
    return this.runReleasing((now) => endpoints.deleteEndpoint(this.state, node, ref, now));
  }

  async listIdentities(args: identities.IdentityListArgs): Promise<Result<IdentityList>> {
    return this.run(() => identities.listIdentities(this.state, args));
  }

  async getIdentity(nid: number): Promise<Result<Identity>> {
    return this.run(() => identities.getIdentity(this.state, nid));
  }

  async getIpcache(args: { limit?: number; cursor?: string }): Promise<Result<Ipcache>> {
    return this.run(() => identities.getIpcache(this.state, args));
  }

  async getConfig(): Promise<Result<ClusterConfig>> {
    return this.run(() => this.state.config());
  }

  async patchConfig(patch: ClusterConfigPatch): Promise<Result<ClusterConfig>> {
    const result = this.run(() => patchConfig(this.state, patch));
    if (result.ok) await this.scheduleGc();
    return result;
  }
}
