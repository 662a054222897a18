// In-memory maps: the same contract as the BPF backend (layouts checked the same way), for tests
// and hosts without BPF (the 99 simulated agents of the feed bench among them).
import { EntrySet } from '../entry-set.js';
import { endpointOfMap, layoutMismatch, MapOwnershipError, type EndpointMapTemplate, type MapLayout, type MapRef } from '../maps.js';
import type { MapBackend, MapEntry } from './backend.js';

/**
 * Each entry as its key's bytes in a latin1 string and a copy of its value: two small objects per
 * entry where a map holds 100k (a key copy and a pair would be two more).
 */
interface MemoryMap {
  layout: MapLayout;
  entries: Map<string, Uint8Array>;
}

function keyOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

function bytesOf(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, 'latin1'));
}

export class MemoryBackend implements MapBackend {
  private readonly maps = new Map<string, MemoryMap>();

  openMap(map: MapRef): boolean {
    const existing = this.maps.get(map.name);
    if (existing) {
      const mismatch = layoutMismatch(map, `memory:${map.name}`, existing.layout);
      if (mismatch !== undefined) throw new MapOwnershipError(mismatch);
      return false;
    }
    this.maps.set(map.name, { layout: map.layout, entries: new Map() });
    return true;
  }

  openMaps(maps: readonly MapRef[]): MapRef[] {
    for (const map of maps) if (this.maps.has(map.name)) this.openMap(map);
    return maps.filter((map) => this.openMap(map));
  }

  private entriesOf(map: MapRef): Map<string, Uint8Array> {
    const open = this.maps.get(map.name);
    // The same layout object is the same layout: skip the check on every write.
    if (open?.layout === map.layout) return open.entries;
    this.openMap(map);
    return this.maps.get(map.name)!.entries;
  }

  put(map: MapRef, key: Uint8Array, value: Uint8Array): void {
    this.entriesOf(map).set(keyOf(key), value.slice());
  }

  putAll(map: MapRef, entries: readonly MapEntry[]): void {
    for (const { key, value } of entries) this.put(map, key, value);
  }

  putSet(map: MapRef, set: EntrySet): void {
    for (let i = 0; i < set.size; i++) this.put(map, set.keyAt(i), set.valueAt(i));
  }

  delete(map: MapRef, key: Uint8Array): void {
    this.entriesOf(map).delete(keyOf(key));
  }

  /** Exact keys only: the memory backend has no longest-prefix match. */
  lookup(map: MapRef, key: Uint8Array): Uint8Array | undefined {
    return this.entriesOf(map).get(keyOf(key))?.slice();
  }

  entries(map: MapRef): [Uint8Array, Uint8Array][] {
    return [...this.entriesOf(map)].map(([k, v]) => [bytesOf(k), v.slice()]);
  }

  entrySet(map: MapRef): EntrySet {
    const entries = this.entriesOf(map);
    const set = new EntrySet(map.layout.keySize, map.layout.valueSize, entries.size);
    for (const [key, value] of entries) set.set(bytesOf(key), value);
    return set;
  }

  isEmpty(map: MapRef): boolean {
    return this.entriesOf(map).size === 0;
  }

  pinnedMaps(template: EndpointMapTemplate): MapRef[] {
    return [...this.maps.keys()].filter((name) => endpointOfMap(template, name) !== undefined).map((name) => ({ name, layout: template.layout }));
  }

  removeMap(map: MapRef): void {
    if (!this.maps.has(map.name)) return;
    this.openMap(map);
    this.maps.delete(map.name);
  }

  close(): void {}
}
