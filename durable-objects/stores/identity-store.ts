// The `identities` and `identity_quarantine` tables: label-hash → number allocation with reference
// counts, GC candidates and quarantined numbers. Allocation is serialised by the Durable Object, so
// one label set gets one number however many requests race for it.
import { DomainError } from '../../src/core/errors.js';
import type { IdentityRange } from '../../src/core/identity.js';
import type { IdentityKey } from '../../src/core/identity-key.js';

export type IdentityRow = {
  id: number;
  sha256: string;
  labels: string;
  namespace: string | null;
  refcount: number;
  created_at: number;
  released_at: number | null;
  /** The policy revision the identity's policy was computed at (current unless stale). */
  policy_revision: number;
  policy_stale: number;
};

export interface NewIdentity {
  key: IdentityKey;
  labels: string[];
  namespace: string | null;
  /** The policy revision a new identity's policy is computed at (its policy is computed with it). */
  policyRevision: number;
}

export class IdentityStore {
  /** Next-fit cursor: where the search for a free number starts. A cache; SQLite decides. */
  private cursor: number | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly range: IdentityRange,
  ) {}

  get(id: number): IdentityRow | undefined {
    return this.sql.exec<IdentityRow>('SELECT * FROM identities WHERE id = ?', id).toArray()[0];
  }

  bySha256(sha256: string): IdentityRow | undefined {
    return this.sql.exec<IdentityRow>('SELECT * FROM identities WHERE sha256 = ?', sha256).toArray()[0];
  }

  page(afterId: number, limit: number): Iterable<IdentityRow> {
    return this.sql.exec<IdentityRow>('SELECT * FROM identities WHERE id > ? ORDER BY id LIMIT ?', afterId, limit);
  }

  /**
   * Takes a reference on the identity of a label set, allocating a number when the set is new. A
   * GC candidate (refcount 0 within its grace period) is revived with its number.
   */
  acquire(identity: NewIdentity, now: number, quarantineMs: number): { id: number; created: boolean } {
    return this.acquireAtCursor(identity, now, now - quarantineMs) ?? this.acquireSearching(identity, now, now - quarantineMs);
  }

  /**
   * The fast path, one statement: insert at the cursor unless its number is quarantined, or take a
   * reference on the existing identity of the same labels. Undefined when the cursor's number is
   * unusable; then the searching path decides.
   */
  private acquireAtCursor(identity: NewIdentity, now: number, quarantineCutoff: number): { id: number; created: boolean } | undefined {
    const candidate = this.cursor;
    if (candidate === undefined || candidate < this.range.min || candidate > this.range.max) return undefined;
    let rows: { id: number }[];
    try {
      rows = this.sql
        .exec<{ id: number }>(
          `INSERT INTO identities (id, sha256, labels, namespace, refcount, created_at, policy_revision)
             SELECT ?1, ?2, ?3, ?4, 1, ?5, ?7
             WHERE NOT EXISTS (SELECT 1 FROM identity_quarantine WHERE id = ?1 AND freed_at > ?6)
           ON CONFLICT (sha256) DO UPDATE SET refcount = refcount + 1, released_at = NULL
           RETURNING id`,
          candidate, identity.key.sha256, JSON.stringify(identity.labels), identity.namespace, now, quarantineCutoff, identity.policyRevision,
        )
        .toArray();
    } catch {
      // The cursor's number belongs to another identity (UNIQUE on id): search instead.
      return undefined;
    }
    const id = rows[0]?.id;
    if (id === undefined) return undefined;
    if (id !== candidate) return { id, created: false };
    this.cursor = id + 1;
    return { id, created: true };
  }

  private acquireSearching(identity: NewIdentity, now: number, quarantineCutoff: number): { id: number; created: boolean } {
    const existing = this.sql
      .exec<{ id: number }>('SELECT id FROM identities WHERE sha256 = ?', identity.key.sha256)
      .toArray()[0];
    if (existing) {
      this.sql.exec('UPDATE identities SET refcount = refcount + 1, released_at = NULL WHERE id = ?', existing.id);
      return { id: existing.id, created: false };
    }
    const id = this.nextFree(quarantineCutoff);
    this.sql.exec(
      'INSERT INTO identities (id, sha256, labels, namespace, refcount, created_at, policy_revision) VALUES (?, ?, ?, ?, 1, ?, ?)',
      id, identity.key.sha256, JSON.stringify(identity.labels), identity.namespace, now, identity.policyRevision,
    );
    this.cursor = id + 1;
    return { id, created: true };
  }

  /** Drops a reference; at zero the identity becomes a GC candidate as of `now`. */
  release(id: number, now: number): void {
    this.sql.exec(
      `UPDATE identities SET refcount = refcount - 1,
         released_at = CASE WHEN refcount - 1 <= 0 THEN ? ELSE NULL END WHERE id = ?`,
      now, id,
    );
  }

  /** GC candidates released at or before `cutoff`, in number order after `afterId`. */
  candidates(cutoff: number, afterId: number, limit: number): number[] {
    return this.sql
      .exec<{ id: number }>('SELECT id FROM identities WHERE released_at <= ? AND refcount <= 0 AND id > ? ORDER BY id LIMIT ?', cutoff, afterId, limit)
      .toArray()
      .map((r) => r.id);
  }

  /**
   * Deletes those of `ids` that are still candidates released at or before `cutoff` (one may
   * have been revived since it was listed) and quarantines their numbers; returns them in order.
   */
  collect(ids: readonly number[], cutoff: number, now: number): number[] {
    const deleted = this.sql
      .exec<{ id: number }>(
        'DELETE FROM identities WHERE id IN (SELECT value FROM json_each(?)) AND refcount <= 0 AND released_at <= ? RETURNING id',
        JSON.stringify(ids), cutoff,
      )
      .toArray()
      .map((r) => r.id)
      .sort((a, b) => a - b);
    for (const id of deleted) this.sql.exec('INSERT OR REPLACE INTO identity_quarantine (id, freed_at) VALUES (?, ?)', id, now);
    return deleted;
  }

  /** Quarantined numbers freed at or before `cutoff`, in order after `afterId`. */
  quarantineOver(cutoff: number, afterId: number, limit: number): number[] {
    return this.sql
      .exec<{ id: number }>('SELECT id FROM identity_quarantine WHERE freed_at <= ? AND id > ? ORDER BY id LIMIT ?', cutoff, afterId, limit)
      .toArray()
      .map((r) => r.id);
  }

  /** Forgets those of `ids` whose quarantine is over at `cutoff`: those numbers may be reused. */
  endQuarantine(ids: readonly number[], cutoff: number): void {
    this.sql.exec('DELETE FROM identity_quarantine WHERE id IN (SELECT value FROM json_each(?)) AND freed_at <= ?', JSON.stringify(ids), cutoff);
  }

  /** The earliest `released_at` among GC candidates, if any. */
  oldestRelease(): number | undefined {
    const row = this.sql.exec<{ t: number | null }>('SELECT min(released_at) AS t FROM identities WHERE released_at IS NOT NULL').one();
    return row.t ?? undefined;
  }

  private isFree(id: number, quarantineCutoff: number): boolean {
    const row = this.sql
      .exec<{ taken: number }>(
        `SELECT EXISTS (SELECT 1 FROM identities WHERE id = ?1)
           OR EXISTS (SELECT 1 FROM identity_quarantine WHERE id = ?1 AND freed_at > ?2) AS taken`,
        id, quarantineCutoff,
      )
      .one();
    return row.taken === 0;
  }

  /** Smallest free number ≥ `from`: the start itself, or one past a taken number. */
  private firstFreeFrom(from: number, quarantineCutoff: number): number | undefined {
    const row = this.sql
      .exec<{ c: number }>(
        `SELECT c FROM (
           SELECT ?1 AS c
           UNION ALL SELECT id + 1 FROM identities WHERE id >= ?1 AND id < ?2
           UNION ALL SELECT id + 1 FROM identity_quarantine WHERE id >= ?1 AND id < ?2 AND freed_at > ?3
         ) WHERE c <= ?2
           AND NOT EXISTS (SELECT 1 FROM identities WHERE id = c)
           AND NOT EXISTS (SELECT 1 FROM identity_quarantine WHERE id = c AND freed_at > ?3)
         ORDER BY c LIMIT 1`,
        from, this.range.max, quarantineCutoff,
      )
      .toArray()[0];
    return row?.c;
  }

  /** Next-fit from the cursor, wrapping once to the start of the range. */
  private nextFree(quarantineCutoff: number): number {
    const { min, max } = this.range;
    if (this.cursor === undefined) {
      const top = this.sql.exec<{ m: number | null }>('SELECT max(id) AS m FROM identities').one().m;
      this.cursor = top === null ? min : top + 1;
    }
    const start = this.cursor > max || this.cursor < min ? min : this.cursor;
    if (this.isFree(start, quarantineCutoff)) return start;
    const found = this.firstFreeFrom(start, quarantineCutoff) ?? this.firstFreeFrom(min, quarantineCutoff);
    if (found === undefined) {
      throw new DomainError('identity-space-exhausted', `no free identity in ${min}..${max} (quarantined numbers excluded)`);
    }
    return found;
  }

  /** Every identity's number and labels, for rebuilding the policy engine. */
  allLabels(): { id: number; labels: string[] }[] {
    return this.sql.exec<{ id: number; labels: string }>('SELECT id, labels FROM identities ORDER BY id').toArray()
      .map((r) => ({ id: r.id, labels: JSON.parse(r.labels) as string[] }));
  }

  /**
   * Marks identities whose policy a change makes stale: their revision stays the one they were
   * current at (`before` when they were current until now).
   */
  markPolicyStale(ids: readonly number[], before: number): void {
    this.sql.exec(
      `UPDATE identities SET policy_revision = CASE WHEN policy_stale = 1 THEN policy_revision ELSE ? END, policy_stale = 1
       WHERE id IN (SELECT value FROM json_each(?))`,
      before, JSON.stringify(ids),
    );
  }

  /** The identities' policies are computed at `revision`. */
  markPolicyCurrent(ids: readonly number[], revision: number): void {
    this.sql.exec(
      'UPDATE identities SET policy_revision = ?, policy_stale = 0 WHERE id IN (SELECT value FROM json_each(?))',
      revision, JSON.stringify(ids),
    );
  }

  /** Identities whose policy recompute is due, in number order after `afterId`. */
  policyStale(afterId: number, limit: number): number[] {
    return this.sql
      .exec<{ id: number }>('SELECT id FROM identities WHERE policy_stale = 1 AND id > ? ORDER BY id LIMIT ?', afterId, limit)
      .toArray()
      .map((r) => r.id);
  }

  /** True when no identity is stored, GC candidates included. */
  isEmpty(): boolean {
    return this.sql.exec('SELECT 1 FROM identities LIMIT 1').toArray().length === 0;
  }
}
