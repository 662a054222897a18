// The revision the agent's maps hold, and callers waiting for it to reach theirs: the local API's
// synchronous create answers once the agent's own feed follower has applied the create's
// revision, without polling anything.

interface Waiter {
  revision: number;
  done: (reached: boolean) => void;
}

export class AppliedRevision {
  private current = 0;
  private readonly waiters = new Set<Waiter>();

  get value(): number {
    return this.current;
  }

  /** The maps now hold `revision` (a resync may also move it back, e.g. a re-created cluster). */
  set(revision: number): void {
    this.current = revision;
    for (const w of this.waiters) if (w.revision <= revision) w.done(true);
  }

  /** Resolves true once the maps hold `revision`, false after `timeoutMs` or when `signal` aborts. */
  reach(revision: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (revision <= this.current) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        revision,
        done: (reached) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
          this.waiters.delete(waiter);
          resolve(reached);
        },
      };
      const abort = () => waiter.done(false);
      const timer = setTimeout(abort, timeoutMs);
      signal?.addEventListener('abort', abort);
      this.waiters.add(waiter);
    });
  }

  /** Callers still waiting (metrics, tests). */
  get waiting(): number {
    return this.waiters.size;
  }
}
