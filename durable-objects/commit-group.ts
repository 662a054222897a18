// Group commit: mutations that arrive together share one durable commit. A SQLite-backed Durable
// Object commits each root transaction synchronously (WAL append + fsync) on its only thread, so
// with one commit per request, 50 concurrent creates queue behind 50 fsyncs. A CommitGroup holds
// each submitted mutation until the requests already delivered to the object have had their turn
// (one event-loop hop: no wait when the object is idle), then runs them all inside one outer
// transaction, each in its own nested transaction (a savepoint).
//
// What a caller sees is unchanged: its mutation is still one transaction, all or nothing (a failing
// one rolls back alone, and the others commit), in arrival order, and its answer is given only
// after the commit that holds its writes (resolved after the outer commit; the output gate holds
// the reply until it is durable). Should the outer commit itself fail, every mutation of the
// group fails with it.

/** Mutations run in one group at most: bounds the work and the undo log of one outer transaction. */
export const MAX_GROUP_SIZE = 64;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Queued {
  op: () => unknown;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

export class CommitGroup {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    /** Runs `body` inside one outer transaction; throws if that transaction fails. */
    private readonly together: (body: () => void) => void,
    /** Calls `fn` once the events already queued for the object have run. */
    private readonly defer: (fn: () => void) => void,
    private readonly maxSize = MAX_GROUP_SIZE,
  ) {}

  /** Runs `op` (which opens its own nested transaction) with the group, once the group commits. */
  submit<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: never) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.drain(this.queue.splice(0, this.maxSize));
      this.schedule();
    });
  }

  private drain(jobs: Queued[]): void {
    const outcomes: Outcome[] = [];
    try {
      this.together(() => {
        for (const job of jobs) {
          try {
            outcomes.push({ ok: true, value: job.op() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value as never);
      else job.reject(outcome.error);
    });
  }
}
