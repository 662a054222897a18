// Real pinned BPF maps in Cilium's layout. A pin of the expected layout is reused (the agent's
// own maps survive its restarts); a pin of any other layout is refused and left untouched; a
// missing one is created, recorded as the agent's own (./pin-record.ts), and pinned. Runs of puts
// and whole-map reads go through batch commands where the kernel has them (./bpf-batch.ts).
import { mkdirSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { EntrySet } from '../entry-set.js';
import { endpointOfMap, layoutMismatch, MapOwnershipError, type EndpointMapTemplate, type MapRef } from '../maps.js';
import type { MapBackend, MapEntry } from './backend.js';
import { BpfBatch } from './bpf-batch.js';
import { BpfNative } from './bpf-native.js';
import { BpfSyscalls } from './bpf-syscall.js';
import type { PinRecord } from './pin-record.js';

/** statfs f_type of a bpf filesystem (BPF_FS_MAGIC, include/uapi/linux/magic.h). */
const BPF_FS_MAGIC = 0xcafe4a11;

interface OpenMap {
  fd: number;
  map: MapRef;
}

export interface BpfBackendOptions {
  /** False: one bpf(2) call per element, as on a kernel without batch commands (tests compare both). */
  batch?: boolean;
}

export class BpfBackend implements MapBackend {
  private readonly native = new BpfNative();
  private readonly sys = new BpfSyscalls(this.native);
  private readonly batch: BpfBatch | undefined;
  private readonly opened = new Map<string, OpenMap>();

  constructor(
    readonly pinDir: string,
    private readonly record: PinRecord,
    options: BpfBackendOptions = {},
  ) {
    this.batch = options.batch === false ? undefined : new BpfBatch(this.native);
    mkdirSync(pinDir, { recursive: true });
    if (statfsSync(pinDir).type !== BPF_FS_MAGIC) {
      throw new MapOwnershipError(`${pinDir} is not on a bpf filesystem (mount it first: mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf)`);
    }
  }

  private pathOf(map: MapRef): string {
    return `${this.pinDir}/${map.name}`;
  }

  openMap(map: MapRef): boolean {
    if (this.opened.has(map.name)) return false;
    const path = this.pathOf(map);
    const existing = this.sys.objGet(path);
    if (existing !== undefined) {
      const mismatch = layoutMismatch(map, path, this.sys.mapInfo(existing));
      if (mismatch !== undefined) {
        this.sys.close(existing);
        throw new MapOwnershipError(mismatch);
      }
      this.opened.set(map.name, { fd: existing, map });
      return false;
    }
    const fd = this.sys.createMap(map.name, map.layout);
    this.record.add({ path, mapId: this.sys.mapInfo(fd).id });
    this.sys.pin(fd, path);
    this.opened.set(map.name, { fd, map });
    return true;
  }

  openMaps(maps: readonly MapRef[]): MapRef[] {
    // Existing pins first: a refused one leaves the pin directory as it was.
    const missing = maps.filter((map) => {
      const fd = this.sys.objGet(this.pathOf(map));
      if (fd !== undefined) this.sys.close(fd);
      return fd === undefined;
    });
    for (const map of maps) if (!missing.includes(map)) this.openMap(map);
    return missing.filter((map) => this.openMap(map));
  }

  private fdOf(map: MapRef): number {
    this.openMap(map);
    return this.opened.get(map.name)!.fd;
  }

  put(map: MapRef, key: Uint8Array, value: Uint8Array): void {
    this.sys.update(this.fdOf(map), key, value);
  }

  /** The batch commands, when the kernel has them for this map's type. */
  private batchFor(map: MapRef, fd: number): BpfBatch | undefined {
    return this.batch?.supports(fd, map.layout) ? this.batch : undefined;
  }

  putAll(map: MapRef, entries: readonly MapEntry[]): void {
    const fd = this.fdOf(map);
    const batch = this.batchFor(map, fd);
    if (batch) batch.update(fd, map.layout, entries);
    else for (const { key, value } of entries) this.sys.update(fd, key, value);
  }

  putSet(map: MapRef, set: EntrySet): void {
    const fd = this.fdOf(map);
    const batch = this.batchFor(map, fd);
    if (batch) batch.updateSet(fd, map.layout, set);
    else for (let i = 0; i < set.size; i++) this.sys.update(fd, set.keyAt(i), set.valueAt(i));
  }

  delete(map: MapRef, key: Uint8Array): void {
    this.sys.delete(this.fdOf(map), key);
  }

  lookup(map: MapRef, key: Uint8Array): Uint8Array | undefined {
    return this.sys.lookup(this.fdOf(map), key, map.layout.valueSize);
  }

  entries(map: MapRef): [Uint8Array, Uint8Array][] {
    return this.entrySet(map).entries();
  }

  entrySet(map: MapRef): EntrySet {
    const fd = this.fdOf(map);
    const { keySize, valueSize } = map.layout;
    const set = new EntrySet(keySize, valueSize);
    const batch = this.batchFor(map, fd);
    if (batch) {
      batch.readAll(fd, set);
      return set;
    }
    for (let k = this.sys.nextKey(fd, null, keySize); k; k = this.sys.nextKey(fd, k, keySize)) {
      const v = this.sys.lookup(fd, k, valueSize);
      if (v) set.set(k, v);
    }
    return set;
  }

  isEmpty(map: MapRef): boolean {
    return this.sys.nextKey(this.fdOf(map), null, map.layout.keySize) === undefined;
  }

  pinnedMaps(template: EndpointMapTemplate): MapRef[] {
    return readdirSync(this.pinDir).filter((name) => endpointOfMap(template, name) !== undefined).sort().map((name) => ({ name, layout: template.layout }));
  }

  removeMap(map: MapRef): void {
    const path = this.pathOf(map);
    const fd = this.sys.objGet(path);
    if (fd === undefined) return;
    this.sys.close(fd);
    this.openMap(map); // refuses a map of another layout
    this.sys.close(this.opened.get(map.name)!.fd);
    this.opened.delete(map.name);
    rmSync(path);
    this.record.remove(path);
  }

  close(): void {
    for (const { fd } of this.opened.values()) this.sys.close(fd);
    this.opened.clear();
  }
}

export interface CleanupOutcome {
  removed: string[];
  /** Recorded pins left in place, with why. */
  kept: { path: string; reason: string }[];
}

/** Removes the pins the agent recorded, each only while it still holds the map the agent made. */
export function removeOwnedPins(record: PinRecord): CleanupOutcome {
  const sys = new BpfSyscalls();
  const outcome: CleanupOutcome = { removed: [], kept: [] };
  for (const pin of record.list()) {
    const fd = sys.objGet(pin.path);
    if (fd === undefined) {
      outcome.kept.push({ path: pin.path, reason: 'nothing is pinned there any more' });
      continue;
    }
    const id = sys.mapInfo(fd).id;
    sys.close(fd);
    if (id !== pin.mapId) {
      outcome.kept.push({ path: pin.path, reason: `it holds map ${id} now, not map ${pin.mapId} that the agent pinned` });
      continue;
    }
    rmSync(pin.path);
    outcome.removed.push(pin.path);
  }
  record.clear();
  return outcome;
}
