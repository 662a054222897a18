// Which revision each node has applied, and when it was last heard from: what a create with
// `wait-for-nodes` waits on. A node tells its progress by a WebSocket ack, a long-poll's `since`
// or a heartbeat's `applied-revision`. "Live" is a node with an open feed socket or a long-poll in
// flight, or heard from within the liveness window: a node merely holding a lease (its agent
// stopped or cut off) is not waited for. In memory only: after the object restarts, nodes are
// heard again at their next ack, poll or heartbeat, and open sockets count as live meanwhile.

interface Waiter {
  revision: number;
  pending: Set<string>;
  done: (lagging: string[]) => void;
}

export class NodeProgress {
  private readonly applied = new Map<string, number>();
  private readonly heardAt = new Map<string, number>();
  private readonly polls = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();

  /** The node was heard from at `now`, having applied `revision` (when it said so). */
  record(node: string, revision: number | undefined, now: number): void {
    this.heardAt.set(node, now);
    if (revision === undefined || revision <= (this.applied.get(node) ?? -1)) return;
    this.applied.set(node, revision);
    for (const w of this.waiters) {
      if (revision >= w.revision && w.pending.delete(node) && w.pending.size === 0) w.done([]);
    }
  }

  /** A long-poll of the node's started: live while it waits. Call the returned function when it ends. */
  pollStarted(node: string, since: number, now: number): () => void {
    this.record(node, since, now);
    this.polls.set(node, (this.polls.get(node) ?? 0) + 1);
    return () => {
      const left = (this.polls.get(node) ?? 1) - 1;
      if (left > 0) this.polls.set(node, left);
      else this.polls.delete(node);
      this.heardAt.set(node, Math.max(this.heardAt.get(node) ?? 0, now));
    };
  }

  /** Whether a create waits for nodes: their feed sockets are then asked to ack at once. */
  waiting(): boolean {
    return this.waiters.size > 0;
  }

  /** A node is gone: forget it, and stop waiting for it. */
  forget(node: string): void {
    this.applied.delete(node);
    this.heardAt.delete(node);
    this.polls.delete(node);
    for (const w of this.waiters) if (w.pending.delete(node) && w.pending.size === 0) w.done([]);
  }

  /**
   * The live nodes among those heard from, plus `connected` (nodes with an open feed socket):
   * heard within `windowMs` of `now`, or with a long-poll in flight.
   */
  liveNodes(now: number, windowMs: number, connected: Iterable<string>): Set<string> {
    const live = new Set(connected);
    for (const node of this.polls.keys()) live.add(node);
    for (const [node, at] of this.heardAt) if (now - at <= windowMs) live.add(node);
    return live;
  }

  /**
   * Resolves once each of `nodes` has applied `revision`, or after `timeoutMs` with those that
   * had not (sorted): the lagging nodes.
   */
  waitFor(nodes: Iterable<string>, revision: number, timeoutMs: number): Promise<string[]> {
    const pending = new Set([...nodes].filter((n) => (this.applied.get(n) ?? -1) < revision));
    if (pending.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        revision,
        pending,
        done: (lagging) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(lagging);
        },
      };
      const timer = setTimeout(() => waiter.done([...waiter.pending].sort()), timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
