// Exclusive time per named stage, for the create breakdown (bench/create-breakdown.ts). In
// `wrangler dev` the clock advances during synchronous code but only in whole milliseconds, so one
// stage of one create reads 0 or 1 ms. Each charge is the clock's change between two marks; with
// the marks at random phase against the tick, its expectation is the true interval, and the sum
// over thousands of creates is the stage's time. Nested stages pause their parent (exclusive time).
export class StageTracer {
  active = false;
  private readonly totals = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private stack: string[] = [];
  private current = '';
  private mark = 0;

  /** Starts charging untraced time to `outer`. */
  start(outer: string): void {
    this.totals.clear();
    this.calls.clear();
    this.stack = [];
    this.current = outer;
    this.mark = performance.now();
    this.active = true;
  }

  /** Stops and returns, per stage, its milliseconds and how often it was entered over the whole run. */
  stop(): Record<string, { ms: number; calls: number }> {
    this.charge();
    this.active = false;
    return Object.fromEntries([...this.totals].map(([name, ms]) => [name, { ms, calls: this.calls.get(name) ?? 0 }]));
  }

  private charge(): void {
    const now = performance.now();
    this.totals.set(this.current, (this.totals.get(this.current) ?? 0) + (now - this.mark));
    this.mark = now;
  }

  /**
   * Runs `fn` as stage `name` (its callees charge their own stages when traced); `call` false for
   * a continuation of the stage's last call (a statement's rows read after its exec).
   */
  within<T>(name: string, fn: () => T, call = true): T {
    if (!this.active) return fn();
    this.charge();
    this.stack.push(this.current);
    this.current = name;
    if (call) this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    try {
      return fn();
    } finally {
      this.charge();
      this.current = this.stack.pop()!;
    }
  }

  /** Replaces each named method of `obj` (own or inherited) by one traced as `prefix` + its name. */
  traceMethods<T extends object>(obj: T, prefix: string, names: readonly string[]): void {
    const target = obj as Record<string, unknown>;
    for (const name of names) {
      const original = target[name];
      if (typeof original !== 'function') throw new Error(`${prefix}${name} is not a method`);
      target[name] = (...args: unknown[]) => this.within(`${prefix}${name}`, () => original.apply(obj, args));
    }
  }
}

/** A statement's label: its verb and table, e.g. `INSERT endpoints`, `SELECT endpoints …`. */
export function statementLabel(query: string): string {
  const q = query.replace(/\s+/g, ' ').trim();
  const verb = q.split(' ', 1)[0]!.toUpperCase();
  const table = /\b(?:INTO|FROM|UPDATE)\s+("?\w+"?)/i.exec(q)?.[1] ?? '?';
  return `${verb} ${table}: ${q.length > 56 ? `${q.slice(0, 56)}…` : q}`;
}
