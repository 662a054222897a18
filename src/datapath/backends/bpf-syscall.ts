// bpf(2) map commands: create/pin/get/info and element operations, using fixed native scratch
// buffers (./bpf-native.ts) so that an update costs one syscall and two small copies.
// Layouts of `union bpf_attr` and `struct bpf_map_info` from include/uapi/linux/bpf.h.
import type { MapLayout } from '../maps.js';
import { ATTR_SIZE, BpfError, BpfNative, ENOENT, MAX_KEY, MAX_VALUE, type Scratch } from './bpf-native.js';

const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_MAP_GET_NEXT_KEY = 4;
const BPF_OBJ_PIN = 6;
const BPF_OBJ_GET = 7;
const BPF_OBJ_GET_INFO_BY_FD = 15;
/** End of the element commands' fields (map_fd, key, value/next_key, flags). */
const ELEM_ATTR_END = 32;
const MAX_PATH = 4096;

/** struct bpf_map_info's layout fields and the map's ID (unique while the map exists). */
export interface MapInfo extends MapLayout {
  id: number;
}

export class BpfSyscalls {
  private readonly attrScratch: Scratch;
  private readonly attr: Buffer;
  private readonly keyScratch: Scratch;
  private readonly key: Buffer;
  private readonly valueScratch: Scratch;
  private readonly value: Buffer;
  private readonly pathScratch: Scratch;
  private readonly path: Buffer;

  constructor(private readonly native = new BpfNative()) {
    this.attrScratch = native.scratch(ATTR_SIZE);
    this.attr = this.attrScratch.bytes;
    this.keyScratch = native.scratch(MAX_KEY);
    this.key = this.keyScratch.bytes;
    this.valueScratch = native.scratch(MAX_VALUE);
    this.value = this.valueScratch.bytes;
    this.pathScratch = native.scratch(MAX_PATH);
    this.path = this.pathScratch.bytes;
  }

  private call(op: string, cmd: number, allowEnoent = false): number {
    const r = this.native.call(cmd, this.attrScratch);
    if (r < 0 && !(allowEnoent && r === -ENOENT)) throw new BpfError(op, -r);
    return r;
  }

  private resetAttr(): void {
    this.updateAttrFd = -1;
    this.attr.fill(0);
  }

  createMap(name: string, layout: MapLayout): number {
    this.resetAttr();
    this.attr.writeUInt32LE(layout.type, 0);
    this.attr.writeUInt32LE(layout.keySize, 4);
    this.attr.writeUInt32LE(layout.valueSize, 8);
    this.attr.writeUInt32LE(layout.maxEntries, 12);
    this.attr.writeUInt32LE(layout.flags, 16);
    // map_name[16] at 28: the kernel keeps 15 characters and the NUL.
    this.attr.write(name.slice(0, 15), 28, 'latin1');
    return this.call('map-create', BPF_MAP_CREATE);
  }

  private setPath(path: string): void {
    const n = this.path.write(path, 0, MAX_PATH - 1, 'utf8');
    this.path[n] = 0;
  }

  pin(fd: number, path: string): void {
    this.setPath(path);
    this.resetAttr();
    this.attr.writeBigUInt64LE(this.pathScratch.address, 0);
    this.attr.writeUInt32LE(fd, 8);
    this.call('obj-pin', BPF_OBJ_PIN);
  }

  /** Opens a pinned object; undefined when nothing is pinned there. */
  objGet(path: string): number | undefined {
    this.setPath(path);
    this.resetAttr();
    this.attr.writeBigUInt64LE(this.pathScratch.address, 0);
    const fd = this.call('obj-get', BPF_OBJ_GET, true);
    return fd < 0 ? undefined : fd;
  }

  mapInfo(fd: number): MapInfo {
    this.value.fill(0);
    this.resetAttr();
    this.attr.writeUInt32LE(fd, 0);
    this.attr.writeUInt32LE(MAX_VALUE, 4);
    this.attr.writeBigUInt64LE(this.valueScratch.address, 8);
    this.call('obj-get-info', BPF_OBJ_GET_INFO_BY_FD);
    // struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags.
    return {
      type: this.value.readUInt32LE(0),
      id: this.value.readUInt32LE(4),
      keySize: this.value.readUInt32LE(8),
      valueSize: this.value.readUInt32LE(12),
      maxEntries: this.value.readUInt32LE(16),
      flags: this.value.readUInt32LE(20),
    };
  }

  /** The fd whose update attr is in `attr`, so back-to-back updates skip rebuilding it. */
  private updateAttrFd = -1;

  private elemAttr(fd: number, withValue: boolean, flags = 0): void {
    this.updateAttrFd = -1;
    this.attr.fill(0, ELEM_ATTR_END);
    this.attr.writeUInt32LE(fd, 0);
    this.attr.writeUInt32LE(0, 4);
    this.attr.writeBigUInt64LE(this.keyScratch.address, 8);
    this.attr.writeBigUInt64LE(withValue ? this.valueScratch.address : 0n, 16);
    this.attr.writeBigUInt64LE(BigInt(flags), 24);
  }

  update(fd: number, key: Uint8Array, value: Uint8Array): void {
    this.key.set(key);
    this.value.set(value);
    if (this.updateAttrFd !== fd) {
      this.elemAttr(fd, true);
      this.updateAttrFd = fd;
    }
    this.call('map-update', BPF_MAP_UPDATE_ELEM);
  }

  /** Deletes a key; returns false when it was absent. */
  delete(fd: number, key: Uint8Array): boolean {
    this.key.set(key);
    this.elemAttr(fd, false);
    return this.call('map-delete', BPF_MAP_DELETE_ELEM, true) >= 0;
  }

  lookup(fd: number, key: Uint8Array, valueSize: number): Uint8Array | undefined {
    this.key.set(key);
    this.elemAttr(fd, true);
    if (this.call('map-lookup', BPF_MAP_LOOKUP_ELEM, true) < 0) return undefined;
    return Uint8Array.from(this.value.subarray(0, valueSize));
  }

  /** The key after `key` (the first key when `key` is null); undefined at the end. */
  nextKey(fd: number, key: Uint8Array | null, keySize: number): Uint8Array | undefined {
    if (key) this.key.set(key);
    this.elemAttr(fd, true);
    // next_key shares the value slot (offset 16); a null key asks for the first.
    if (!key) this.attr.writeBigUInt64LE(0n, 8);
    if (this.call('map-get-next-key', BPF_MAP_GET_NEXT_KEY, true) < 0) return undefined;
    return Uint8Array.from(this.value.subarray(0, keySize));
  }

  close(fd: number): void {
    this.native.close(fd);
  }
}
