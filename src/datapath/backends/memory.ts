// In-memory maps: the same contract as the BPF backend (layouts checked the same way), for tests
// and hosts without BPF.
import { endpointOfMap, layoutMismatch, MapOwnershipError, type EndpointMapTemplate, type MapLayout, type MapRef } from '../maps.js';
import { hexOf, type MapBackend } from './backend.js';

interface MemoryMap {
  layout: MapLayout;
  entries: Map<string, [Uint8Array, Uint8Array]>;
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

  private entriesOf(map: MapRef): Map<string, [Uint8Array, Uint8Array]> {
    this.openMap(map);
    return this.maps.get(map.name)!.entries;
  }

  put(map: MapRef, key: Uint8Array, value: Uint8Array): void {
    this.entriesOf(map).set(hexOf(key), [key.slice(), value.slice()]);
  }

  delete(map: MapRef, key: Uint8Array): void {
    this.entriesOf(map).delete(hexOf(key));
  }

  /** Exact keys only: the memory backend has no longest-prefix match. */
  lookup(map: MapRef, key: Uint8Array): Uint8Array | undefined {
    return this.entriesOf(map).get(hexOf(key))?.[1].slice();
  }

  entries(map: MapRef): [Uint8Array, Uint8Array][] {
    return [...this.entriesOf(map).values()].map(([k, v]) => [k.slice(), v.slice()]);
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
