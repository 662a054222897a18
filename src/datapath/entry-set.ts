// The entries of one map (fixed key and value sizes) found by their key bytes, held in two flat
// byte arrays: a whole-map read and its diff (a 100k-entry ipcache at a resync) make no object
// per entry. Keys are found by open addressing over a typed array of positions, hashed from the
// bytes themselves: a JS Map would need a string per key, and costs more than the diff around it.

/**
 * FNV-1a over `size` bytes of `bytes` from `offset`, as a signed 32-bit integer: an unsigned one
 * above 2^31 is no small integer to V8, and boxing one per key set or found was most of the cost.
 */
function hashAt(bytes: Uint8Array, offset: number, size: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = offset; i < offset + size; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}

function copyAt(from: Uint8Array, fromOffset: number, to: Uint8Array, toOffset: number, size: number): void {
  for (let i = 0; i < size; i++) to[toOffset + i] = from[fromOffset + i]!;
}

function sameAt(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

/** Entries in the order their keys were first set; setting a key again replaces its value in place. */
export class EntrySet {
  private keys: Uint8Array;
  private values: Uint8Array;
  private count = 0;
  /** Position + 1 of the entry in each slot, 0 for an empty slot; kept at most half full. */
  private slots: Int32Array;
  /** Each entry's key hash: growing the slots places entries again without hashing their keys. */
  private hashes: Int32Array;

  constructor(
    readonly keySize: number,
    readonly valueSize: number,
    expected = 0,
  ) {
    const room = Math.max(8, expected);
    this.keys = new Uint8Array(room * keySize);
    this.values = new Uint8Array(room * valueSize);
    this.hashes = new Int32Array(room);
    let slots = 16;
    while (slots < 2 * room) slots *= 2;
    this.slots = new Int32Array(slots);
  }

  get size(): number {
    return this.count;
  }

  /** The slot holding the key at `offset` of `bytes` (whose hash is `hash`), or the empty slot where it would go. */
  private slotOf(bytes: Uint8Array, offset: number, hash: number): number {
    const { slots, keys, keySize } = this;
    const mask = slots.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const p = slots[s]!;
      if (p === 0 || sameAt(keys, (p - 1) * keySize, bytes, offset, keySize)) return s;
    }
  }

  /** The position of `key`'s entry, or -1. */
  indexOf(key: Uint8Array): number {
    this.checkSize(key, this.keySize);
    return this.slots[this.slotOf(key, 0, hashAt(key, 0, this.keySize))]! - 1;
  }

  /** The position of the key at position `i` of `other` (a set of the same sizes), or -1: no view made. */
  indexOfKeyIn(other: EntrySet, i: number): number {
    if (other.keySize !== this.keySize) throw new Error(`keys of ${other.keySize} bytes looked up in a set of ${this.keySize}-byte keys`);
    return this.slots[this.slotOf(other.keys, i * this.keySize, other.hashes[i]!)]! - 1;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.checkSize(key, this.keySize);
    this.checkSize(value, this.valueSize);
    this.setAt(key, 0, value, 0);
  }

  /** Sets `n` entries laid out back to back in `keys` and `values` (a batch read's buffers). */
  setEach(keys: Uint8Array, values: Uint8Array, n: number): void {
    for (let i = 0; i < n; i++) this.setAt(keys, i * this.keySize, values, i * this.valueSize);
  }

  private setAt(keys: Uint8Array, keyOffset: number, values: Uint8Array, valueOffset: number): void {
    const hash = hashAt(keys, keyOffset, this.keySize);
    const s = this.slotOf(keys, keyOffset, hash);
    let p = this.slots[s]! - 1;
    if (p < 0) {
      if (this.count === this.hashes.length) this.growEntries();
      p = this.count++;
      copyAt(keys, keyOffset, this.keys, p * this.keySize, this.keySize);
      this.hashes[p] = hash;
      this.slots[s] = p + 1;
    }
    copyAt(values, valueOffset, this.values, p * this.valueSize, this.valueSize);
    if (2 * this.count > this.slots.length) this.growSlots();
  }

  /** The key at a position: a view, valid while the set is not added to. */
  keyAt(i: number): Uint8Array {
    return this.keys.subarray(i * this.keySize, (i + 1) * this.keySize);
  }

  /** The value at a position: a view, valid while the set is not changed. */
  valueAt(i: number): Uint8Array {
    return this.values.subarray(i * this.valueSize, (i + 1) * this.valueSize);
  }

  /** Whether the value at a position is `value`. */
  hasValueAt(i: number, value: Uint8Array): boolean {
    return value.length === this.valueSize && sameAt(this.values, i * this.valueSize, value, 0, this.valueSize);
  }

  /** Whether the value at position `i` is the one at position `j` of `other`: no view made. */
  hasValueIn(i: number, other: EntrySet, j: number): boolean {
    return other.valueSize === this.valueSize && sameAt(this.values, i * this.valueSize, other.values, j * this.valueSize, this.valueSize);
  }

  /** The keys of positions `start` to `end`, back to back: a view, valid while the set is not added to. */
  keysBetween(start: number, end: number): Uint8Array {
    return this.keys.subarray(start * this.keySize, end * this.keySize);
  }

  /** The values of positions `start` to `end`, back to back: a view, valid while the set is not changed. */
  valuesBetween(start: number, end: number): Uint8Array {
    return this.values.subarray(start * this.valueSize, end * this.valueSize);
  }

  /** Each entry as its own copies, in order. */
  entries(): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < this.count; i++) out.push([this.keyAt(i).slice(), this.valueAt(i).slice()]);
    return out;
  }

  /** The entries for which `keep` is true, in order. */
  filter(keep: (key: Uint8Array, value: Uint8Array) => boolean): EntrySet {
    const out = new EntrySet(this.keySize, this.valueSize);
    for (let i = 0; i < this.count; i++) if (keep(this.keyAt(i), this.valueAt(i))) out.set(this.keyAt(i), this.valueAt(i));
    return out;
  }

  private checkSize(bytes: Uint8Array, size: number): void {
    if (bytes.length !== size) throw new Error(`${bytes.length} bytes where a map's keys and values are ${this.keySize} and ${this.valueSize}`);
  }

  private growEntries(): void {
    const keys = new Uint8Array(2 * this.keys.length);
    keys.set(this.keys);
    this.keys = keys;
    const values = new Uint8Array(2 * this.values.length);
    values.set(this.values);
    this.values = values;
    const hashes = new Int32Array(2 * this.hashes.length);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  private growSlots(): void {
    this.slots = new Int32Array(2 * this.slots.length);
    const mask = this.slots.length - 1;
    for (let p = 0; p < this.count; p++) {
      let s = this.hashes[p]! & mask;
      while (this.slots[s] !== 0) s = (s + 1) & mask;
      this.slots[s] = p + 1;
    }
  }
}
