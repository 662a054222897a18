// In-memory maps: the same contract as the BPF backend, for tests and hosts without BPF.
import type { MapName } from '../maps.js';
import { hexOf, type MapBackend } from './backend.js';

export class MemoryBackend implements MapBackend {
  private readonly maps: Record<MapName, Map<string, [Uint8Array, Uint8Array]>> = { ipcache: new Map(), lxc: new Map() };

  put(map: MapName, key: Uint8Array, value: Uint8Array): void {
    this.maps[map].set(hexOf(key), [key.slice(), value.slice()]);
  }

  delete(map: MapName, key: Uint8Array): void {
    this.maps[map].delete(hexOf(key));
  }

  entries(map: MapName): [Uint8Array, Uint8Array][] {
    return [...this.maps[map].values()].map(([k, v]) => [k.slice(), v.slice()]);
  }

  isEmpty(map: MapName): boolean {
    return this.maps[map].size === 0;
  }

  /** Memory holds nothing across processes; emptiness is what tells a restart. */
  readonly createdMaps: readonly MapName[] = [];

  close(): void {}
}
