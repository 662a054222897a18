// BPF_MAP_LOOKUP_BATCH and BPF_MAP_UPDATE_BATCH: thousands of elements per bpf(2) call instead of
// one call per element written and two per element read. Linux has them for hash maps since 5.6
// and LPM tries since 5.13; whether this kernel has them for a map type is asked once, and the
// backend falls back to element calls where it has not (./bpf.ts).
import type { EntrySet } from '../entry-set.js';
import { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, type MapLayout } from '../maps.js';
import type { MapEntry } from './backend.js';
import { ATTR_SIZE, BpfError, type BpfNative, ENOENT, MAX_KEY, MAX_VALUE, type Scratch } from './bpf-native.js';

const BPF_MAP_LOOKUP_BATCH = 24;
const BPF_MAP_UPDATE_BATCH = 26;
const EINVAL = 22;
const ENOSPC = 28;
const EOPNOTSUPP = 95;
/** The kernel's own "not supported" (include/linux/errno.h), returned for a map type without batch ops. */
const ENOTSUPP = 524;
/** `union bpf_attr`'s batch fields: u64 pointers, then count (in: room, out: done) and the map. */
const ATTR = { inBatch: 0, outBatch: 8, keys: 16, values: 24, count: 32, mapFd: 36 } as const;
/** Elements per call: the scratch holds this many keys and values of the largest size. */
export const BATCH_CAPACITY = 4096;
/** The opaque position a lookup batch resumes from: a key, or a bucket index for a hash map. */
const POSITION_SIZE = MAX_KEY;
/** Types whose value is value_size bytes (not one per CPU): the agent's ipcache, lxc and policy maps. */
const BATCHED_TYPES: ReadonlySet<number> = new Set([BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE]);

/**
 * What a lookup batch's result says of batch support: an answer or the map's end (ENOENT), or a
 * first bucket larger than the room given (ENOSPC), is a yes; a kernel without the command says
 * EINVAL, a map type without it ENOTSUPP (EOPNOTSUPP in some versions); anything else is no answer.
 */
export function batchSupportFrom(result: number): boolean | undefined {
  if (result >= 0 || result === -ENOENT || result === -ENOSPC) return true;
  if (result === -EINVAL || result === -EOPNOTSUPP || result === -ENOTSUPP) return false;
  return undefined;
}

export class BpfBatch {
  private readonly attr: Scratch;
  private readonly keys: Scratch;
  private readonly values: Scratch;
  private readonly inBatch: Scratch;
  private readonly outBatch: Scratch;
  /** Map type → whether this kernel batches its elements. */
  private readonly support = new Map<number, boolean>();

  constructor(private readonly native: BpfNative) {
    this.attr = native.scratch(ATTR_SIZE);
    this.keys = native.scratch(BATCH_CAPACITY * MAX_KEY);
    this.values = native.scratch(BATCH_CAPACITY * MAX_VALUE);
    this.inBatch = native.scratch(POSITION_SIZE);
    this.outBatch = native.scratch(POSITION_SIZE);
  }

  private call(cmd: number, fd: number, count: number, resume: boolean): number {
    const a = this.attr.bytes;
    a.fill(0);
    a.writeBigUInt64LE(resume ? this.inBatch.address : 0n, ATTR.inBatch);
    a.writeBigUInt64LE(this.outBatch.address, ATTR.outBatch);
    a.writeBigUInt64LE(this.keys.address, ATTR.keys);
    a.writeBigUInt64LE(this.values.address, ATTR.values);
    a.writeUInt32LE(count, ATTR.count);
    a.writeUInt32LE(fd, ATTR.mapFd);
    return this.native.call(cmd, this.attr);
  }

  /** Whether the kernel batches elements of this map's type (asked once per type). */
  supports(fd: number, layout: MapLayout): boolean {
    if (!BATCHED_TYPES.has(layout.type) || layout.keySize > MAX_KEY || layout.valueSize > MAX_VALUE) return false;
    let known = this.support.get(layout.type);
    if (known === undefined) this.support.set(layout.type, (known = this.probe(fd)));
    return known;
  }

  /** Asks the kernel with a one-element lookup batch on the map (it reads, and changes nothing). */
  probe(fd: number): boolean {
    const r = this.call(BPF_MAP_LOOKUP_BATCH, fd, 1, false);
    const answer = batchSupportFrom(r);
    if (answer === undefined) throw new BpfError('map-lookup-batch', -r);
    return answer;
  }

  /**
   * Inserts or replaces entries (BPF_ANY) in order. On an error those before the failing one are
   * in the map, as with one update per entry.
   */
  update(fd: number, layout: MapLayout, entries: readonly MapEntry[]): void {
    const { keySize, valueSize } = layout;
    for (let start = 0; start < entries.length; start += BATCH_CAPACITY) {
      const n = Math.min(BATCH_CAPACITY, entries.length - start);
      for (let i = 0; i < n; i++) {
        const { key, value } = entries[start + i]!;
        if (key.length !== keySize || value.length !== valueSize) throw new Error(`entry of ${key.length} + ${value.length} bytes for a map of ${keySize} + ${valueSize}`);
        this.keys.bytes.set(key, i * keySize);
        this.values.bytes.set(value, i * valueSize);
      }
      this.writeScratch(fd, n);
    }
  }

  /** `update` of a set's entries in its order, each batch copied from the set's bytes in one move. */
  updateSet(fd: number, layout: MapLayout, set: EntrySet): void {
    if (set.keySize !== layout.keySize || set.valueSize !== layout.valueSize) throw new Error(`entries of ${set.keySize} + ${set.valueSize} bytes for a map of ${layout.keySize} + ${layout.valueSize}`);
    for (let start = 0; start < set.size; start += BATCH_CAPACITY) {
      const end = Math.min(set.size, start + BATCH_CAPACITY);
      this.keys.bytes.set(set.keysBetween(start, end));
      this.values.bytes.set(set.valuesBetween(start, end));
      this.writeScratch(fd, end - start);
    }
  }

  /** Writes the first `n` keys and values of the scratch buffers; on an error those before the failing one are in the map. */
  private writeScratch(fd: number, n: number): void {
    const r = this.call(BPF_MAP_UPDATE_BATCH, fd, n, false);
    if (r < 0) throw new BpfError('map-update', -r);
  }

  /** Reads every entry into `set`, a batch at a time. */
  readAll(fd: number, set: EntrySet): void {
    for (let resume = false; ; resume = true) {
      const r = this.call(BPF_MAP_LOOKUP_BATCH, fd, BATCH_CAPACITY, resume);
      if (r < 0 && r !== -ENOENT) throw new BpfError('map-lookup-batch', -r);
      set.setEach(this.keys.bytes, this.values.bytes, this.attr.bytes.readUInt32LE(ATTR.count));
      // ENOENT: the map's end was reached (after the entries of this call).
      if (r < 0) return;
      this.inBatch.bytes.set(this.outBatch.bytes);
    }
  }
}
