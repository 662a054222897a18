// Real pinned BPF maps in Cilium's layout. An existing pin is reused when its definition
// matches, and replaced when it does not (as Cilium's agent does with a changed map).
import { mkdirSync, rmSync } from 'node:fs';
import { MAP_NAMES, MAP_SPECS, pinDirectory, type MapName } from '../maps.js';
import type { MapBackend } from './backend.js';
import { BpfSyscalls } from './bpf-syscall.js';

export class BpfBackend implements MapBackend {
  private readonly sys = new BpfSyscalls();
  private readonly fds = {} as Record<MapName, number>;
  readonly createdMaps: MapName[] = [];

  constructor(readonly bpffs: string) {
    const dir = pinDirectory(bpffs);
    mkdirSync(dir, { recursive: true });
    for (const name of MAP_NAMES) this.fds[name] = this.openOrCreate(name, `${dir}/${MAP_SPECS[name].pinName}`);
  }

  private openOrCreate(name: MapName, path: string): number {
    const spec = MAP_SPECS[name];
    const existing = this.sys.objGet(path);
    if (existing !== undefined) {
      const info = this.sys.mapInfo(existing);
      const same = info.type === spec.type && info.keySize === spec.keySize && info.valueSize === spec.valueSize && info.maxEntries === spec.maxEntries && info.flags === spec.flags;
      if (same) return existing;
      this.sys.close(existing);
      rmSync(path);
    }
    const fd = this.sys.createMap(spec);
    this.sys.pin(fd, path);
    this.createdMaps.push(name);
    return fd;
  }

  put(map: MapName, key: Uint8Array, value: Uint8Array): void {
    this.sys.update(this.fds[map], key, value);
  }

  delete(map: MapName, key: Uint8Array): void {
    this.sys.delete(this.fds[map], key);
  }

  entries(map: MapName): [Uint8Array, Uint8Array][] {
    const spec = MAP_SPECS[map];
    const keys: Uint8Array[] = [];
    for (let k = this.sys.nextKey(this.fds[map], null, spec.keySize); k; k = this.sys.nextKey(this.fds[map], k, spec.keySize)) keys.push(k);
    const out: [Uint8Array, Uint8Array][] = [];
    for (const k of keys) {
      const v = this.sys.lookup(this.fds[map], k, spec.valueSize);
      if (v) out.push([k, v]);
    }
    return out;
  }

  isEmpty(map: MapName): boolean {
    return this.sys.nextKey(this.fds[map], null, MAP_SPECS[map].keySize) === undefined;
  }

  close(): void {
    for (const name of MAP_NAMES) this.sys.close(this.fds[name]);
  }
}
