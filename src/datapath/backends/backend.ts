// Where map operations land: real pinned BPF maps, or memory (tests, non-Linux hosts). Maps are
// addressed by name + layout (MapRef); per-endpoint maps are found by their name template.
import type { EntrySet } from '../entry-set.js';
import type { EndpointMapTemplate, MapRef } from '../maps.js';

export interface MapEntry {
  key: Uint8Array;
  value: Uint8Array;
}

export interface MapBackend {
  /**
   * Opens a map, creating it when absent; refuses one of another layout (MapOwnershipError).
   * Returns true when it was created (empty). The other methods open maps on first use.
   */
  openMap(map: MapRef): boolean;
  /** Opens several maps, checking every existing one before creating any; returns those created. */
  openMaps(maps: readonly MapRef[]): MapRef[];
  /** Inserts or replaces one entry (BPF_ANY). */
  put(map: MapRef, key: Uint8Array, value: Uint8Array): void;
  /** `put` of each entry in order, in as few system calls as the backend can (a snapshot is 100k). */
  putAll(map: MapRef, entries: readonly MapEntry[]): void;
  /** `putAll` of a set's entries in its order, copied from the set's bytes (no object per entry). */
  putSet(map: MapRef, set: EntrySet): void;
  /** Removes one entry; a missing one is not an error. */
  delete(map: MapRef, key: Uint8Array): void;
  /** The value at a key (for an LPM trie, of the longest prefix matching it), if any. */
  lookup(map: MapRef, key: Uint8Array): Uint8Array | undefined;
  /** Every entry, for read-back. */
  entries(map: MapRef): [Uint8Array, Uint8Array][];
  /** Every entry in one EntrySet: a whole-map read for reconciliation, with no object per entry. */
  entrySet(map: MapRef): EntrySet;
  isEmpty(map: MapRef): boolean;
  /** The maps of a per-endpoint family present now (pinned, whatever their layout). */
  pinnedMaps(template: EndpointMapTemplate): MapRef[];
  /** Unpins a map the agent owns (a map of another layout is refused); a missing one is not an error. */
  removeMap(map: MapRef): void;
  close(): void;
}

/** Copies the bytes: reading a small array's `.buffer` would move it off the JS heap (slow, and slower to collect). */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
