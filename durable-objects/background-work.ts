// Work that grows with cluster state — lease expiry, node removal, identity GC, the end of
// quarantines, namespace relabels — done as a series of bounded transactions, one batch each. Every batch is its own
// transaction with its own failure handling: a failing batch is logged, the work goes on after
// it, and it is tried again by a later run. The run yields between batches so that other
// requests interleave, does a bounded number of batches, and says whether work remains so that
// the alarm re-arms itself.
import type { ClusterState } from './cluster-state.js';
import { collectIdentities, gcCutoffs, MAX_IDENTITIES_PER_BATCH } from './ops/gc.js';
import { relabelBatch } from './ops/namespaces.js';
import { markExpiredNodes, MAX_ENDPOINTS_PER_BATCH, MAX_NODES_PER_BATCH, removeNodeBatch } from './ops/nodes.js';
import { MAX_POLICY_CHUNK, regenerateBatch } from './ops/policies.js';

/** Runs `op` in one transaction (publishing what it committed); throws when it rolled back. */
export type Transact = <T>(op: (now: number) => T) => T;

/** Batches of each kind of work in one run at most. */
export const MAX_BATCHES_PER_RUN = 32;

export interface WorkOutcome {
  /** The budget ran out before the work did. */
  remaining: boolean;
  /** A batch failed (and was skipped). */
  failed: boolean;
}

interface Budget {
  left: number;
}

interface Job<K, R> {
  name: string;
  /** The keys of the next batch after `after`, read outside any transaction. */
  next(after: K | undefined): K[];
  /** Applies one batch in its transaction. */
  apply(keys: K[], now: number): R;
  /** After the batch committed. */
  committed?(result: R): void;
}

const yieldToRequests = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function merge(...outcomes: WorkOutcome[]): WorkOutcome {
  return { remaining: outcomes.some((o) => o.remaining), failed: outcomes.some((o) => o.failed) };
}

export class BackgroundWork {
  constructor(
    private readonly state: ClusterState,
    private readonly transact: Transact,
    private readonly clock: () => number,
    /** Nodes whose lease lapsed were marked for removal (their tokens are void). */
    private readonly onExpired: (nodes: string[]) => void,
  ) {}

  /** Runs one transaction; a failure is logged and reported as false. */
  private attempt(what: string, op: (now: number) => void): boolean {
    try {
      this.transact(op);
      return true;
    } catch (e) {
      console.error(`${what} failed; going on after it`, e);
      return false;
    }
  }

  private async runJob<K, R>(job: Job<K, R>, budget: Budget): Promise<WorkOutcome> {
    let after: K | undefined;
    let failed = false;
    for (;;) {
      const keys = job.next(after);
      if (keys.length === 0) return { remaining: false, failed };
      if (budget.left <= 0) return { remaining: true, failed };
      budget.left -= 1;
      let result: { value: R } | undefined;
      const ok = this.attempt(`${job.name}: batch ${String(keys[0])}..${String(keys[keys.length - 1])}`, (now) => {
        result = { value: job.apply(keys, now) };
      });
      if (ok && result) job.committed?.(result.value);
      else failed = true;
      after = keys[keys.length - 1];
      await yieldToRequests();
    }
  }

  /**
   * Removes a node marked deleting, batch by batch; the node itself goes with its last endpoints
   * (or alone when it has none left). `gone` says whether it is gone.
   */
  async removeNode(name: string, budget: Budget = { left: Infinity }): Promise<WorkOutcome & { gone: boolean }> {
    const outcome = await this.runJob<number, boolean>(
      {
        name: `removing node ${name}`,
        next: (after) => (this.state.nodes.isDeleting(name) ? this.state.endpoints.idsOnNode(name, after ?? 0, MAX_ENDPOINTS_PER_BATCH) : []),
        apply: (ids, now) => removeNodeBatch(this.state, name, ids, now),
      },
      budget,
    );
    if (!outcome.remaining && this.state.nodes.isDeleting(name)) {
      if (budget.left <= 0) return { ...outcome, remaining: true, gone: false };
      budget.left -= 1;
      if (!this.attempt(`removing node ${name}`, (now) => removeNodeBatch(this.state, name, [], now))) outcome.failed = true;
      await yieldToRequests();
    }
    return { ...outcome, gone: !this.state.nodes.exists(name) };
  }

  /** Recomputes the identities a policy change left stale, one chunk per transaction. */
  async regeneratePolicy(budget: Budget = { left: MAX_BATCHES_PER_RUN }): Promise<WorkOutcome> {
    return this.runJob<number, void>(
      {
        name: 'policy regeneration',
        next: (after) => this.state.identities.policyStale(after ?? 0, MAX_POLICY_CHUNK),
        apply: (ids, now) => regenerateBatch(this.state, ids, now),
      },
      budget,
    );
  }

  /** One run of everything due, each kind with its own budget. */
  async run(): Promise<WorkOutcome> {
    const now = this.clock();
    const policy = await this.regeneratePolicy();
    const expiry = await this.runJob<string, string[]>(
      {
        name: 'lease expiry',
        next: (after) => this.state.nodes.expired(now, after, MAX_NODES_PER_BATCH),
        apply: (names, at) => markExpiredNodes(this.state, names, at),
        committed: (marked) => this.onExpired(marked),
      },
      { left: MAX_BATCHES_PER_RUN },
    );
    const removal = await this.removeDeletingNodes({ left: MAX_BATCHES_PER_RUN });
    const cutoffs = gcCutoffs(this.state, now);
    const gc = await this.runJob<number, number[]>(
      {
        name: 'identity GC',
        next: (after) => this.state.identities.candidates(cutoffs.released, after ?? 0, MAX_IDENTITIES_PER_BATCH),
        apply: (ids, at) => collectIdentities(this.state, ids, cutoffs.released, at),
      },
      { left: MAX_BATCHES_PER_RUN },
    );
    const quarantine = await this.runJob<number, void>(
      {
        name: 'quarantine expiry',
        next: (after) => this.state.identities.quarantineOver(cutoffs.freed, after ?? 0, MAX_IDENTITIES_PER_BATCH),
        apply: (ids) => this.state.identities.endQuarantine(ids, cutoffs.freed),
      },
      { left: MAX_BATCHES_PER_RUN },
    );
    const relabel = await this.relabelNamespaces({ left: MAX_BATCHES_PER_RUN });
    return merge(policy, expiry, removal, gc, quarantine, relabel);
  }

  /**
   * Pending namespace relabels (ops/namespaces.ts keeps their progress in SQLite), one batch per
   * transaction. A failed batch would fail again at once (e.g. no free identity): stop until the
   * retry.
   */
  private async relabelNamespaces(budget: Budget): Promise<WorkOutcome> {
    while (this.state.namespaces.hasRelabels()) {
      if (budget.left <= 0) return { remaining: true, failed: false };
      budget.left -= 1;
      if (!this.attempt('namespace relabel', (now) => relabelBatch(this.state, now))) return { remaining: true, failed: true };
      await yieldToRequests();
    }
    return { remaining: false, failed: false };
  }

  /** Every node marked deleting, one after the other, within one budget. */
  private async removeDeletingNodes(budget: Budget): Promise<WorkOutcome> {
    const outcomes: WorkOutcome[] = [];
    let after: string | undefined;
    for (;;) {
      const names = this.state.nodes.deleting(after, MAX_NODES_PER_BATCH);
      if (names.length === 0) return merge(...outcomes);
      for (const name of names) {
        const outcome = await this.removeNode(name, budget);
        outcomes.push(outcome);
        if (outcome.remaining) return merge(...outcomes);
      }
      after = names[names.length - 1];
    }
  }
}
