// An undo journal for in-memory derived state: every write goes through it, is only allowed inside
// `run`, and is undone when `run`'s function throws. Derived state that mirrors a storage
// transaction thus rolls back with it by construction (wrap the storage transaction in `run`).
// Units nest like savepoints, as storage transactions do. `runUnlogged` writes without an undo
// log, for building state that is discarded whole if the build throws (nothing else sees it yet).

export class Journal {
  private active = false;
  private undo: (() => void)[] | null = null;

  /**
   * Runs `fn` as one unit: if it throws, every write it made is undone in reverse order. A unit
   * may run inside another (a savepoint): its failure undoes its own writes only, while the outer
   * unit's failure undoes the inner units' writes too.
   */
  run<T>(fn: () => T): T {
    if (this.active && this.undo === null) throw new Error('a journaled unit cannot run inside an unlogged one');
    const outermost = !this.active;
    const undo = this.undo ?? [];
    const mark = undo.length;
    this.active = true;
    this.undo = undo;
    try {
      return fn();
    } catch (e) {
      for (let i = undo.length - 1; i >= mark; i--) undo[i]!();
      undo.length = mark;
      throw e;
    } finally {
      if (outermost) {
        this.active = false;
        this.undo = null;
      }
    }
  }

  /** Whether a unit is running (writes are allowed). */
  get running(): boolean {
    return this.active;
  }

  /** Runs `fn` with writes allowed but not undoable: only for state its owner discards if `fn` throws. */
  runUnlogged<T>(fn: () => T): T {
    if (this.active) throw new Error('an unlogged unit cannot run inside another unit');
    this.active = true;
    try {
      return fn();
    } finally {
      this.active = false;
    }
  }

  /** The undo log of the running unit; null in an unlogged one. */
  private log(): (() => void)[] | null {
    if (!this.active) throw new Error('policy state written outside a journaled unit');
    return this.undo;
  }

  set<K, V>(map: Map<K, V>, key: K, value: V): void {
    const log = this.log();
    const had = map.has(key);
    const old = map.get(key);
    map.set(key, value);
    log?.push(() => (had ? map.set(key, old as V) : map.delete(key)));
  }

  delete<K, V>(map: Map<K, V>, key: K): void {
    const log = this.log();
    if (!map.has(key)) return;
    const old = map.get(key) as V;
    map.delete(key);
    log?.push(() => map.set(key, old));
  }

  add<T>(set: Set<T>, value: T): void {
    const log = this.log();
    if (set.has(value)) return;
    set.add(value);
    log?.push(() => set.delete(value));
  }

  remove<T>(set: Set<T>, value: T): void {
    const log = this.log();
    if (!set.delete(value)) return;
    log?.push(() => set.add(value));
  }
}
