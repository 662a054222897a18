// Where map operations land: real pinned BPF maps, or memory (tests, non-Linux hosts).
import type { MapName } from '../maps.js';

export interface MapBackend {
  /** Inserts or replaces one entry (BPF_ANY). */
  put(map: MapName, key: Uint8Array, value: Uint8Array): void;
  /** Removes one entry; a missing one is not an error. */
  delete(map: MapName, key: Uint8Array): void;
  /** Every entry, for reconciliation and read-back. */
  entries(map: MapName): [Uint8Array, Uint8Array][];
  isEmpty(map: MapName): boolean;
  /** Maps this backend had to create (none pinned, or a pin of another definition): they start empty. */
  readonly createdMaps: readonly MapName[];
  close(): void;
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
