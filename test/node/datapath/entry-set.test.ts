// EntrySet: a map's entries found by key bytes (the diff of a whole-map read), checked against a
// plain Map of hex strings, and what a lookup batch's result says of the kernel's batch support.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hexOf } from '../../../src/datapath/backends/backend.js';
import { batchSupportFrom } from '../../../src/datapath/backends/bpf-batch.js';
import { EntrySet } from '../../../src/datapath/entry-set.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const listed = (set: EntrySet) => set.entries().map(([k, v]) => `${hexOf(k)}=${hexOf(v)}`);

describe('EntrySet', () => {
  it('keeps first-set order, replaces a value in place, and finds keys by their bytes', () => {
    const set = new EntrySet(2, 1);
    set.set(bytes(1, 2), bytes(7));
    set.set(bytes(3, 4), bytes(8));
    set.set(bytes(1, 2), bytes(9));
    expect(listed(set)).toEqual(['0102=09', '0304=08']);
    expect([set.indexOf(bytes(3, 4)), set.indexOf(bytes(1, 2)), set.indexOf(bytes(2, 1))]).toEqual([1, 0, -1]);
    expect([set.hasValueAt(0, bytes(9)), set.hasValueAt(0, bytes(7)), set.hasValueAt(0, bytes(9, 0))]).toEqual([true, false, false]);
    expect(set.filter((k) => k[0] === 3).entries()).toEqual([[bytes(3, 4), bytes(8)]]);
  });

  it('takes the entries of a batch read laid out back to back', () => {
    const set = new EntrySet(2, 1);
    set.setEach(bytes(1, 1, 2, 2, 3, 3, 9, 9), bytes(10, 20, 30, 90), 3);
    expect(listed(set)).toEqual(['0101=0a', '0202=14', '0303=1e']);
  });

  it("finds another set's entries by position, and gives positions' bytes back to back", () => {
    const have = new EntrySet(2, 1);
    have.setEach(bytes(1, 1, 2, 2, 3, 3), bytes(10, 20, 30), 3);
    const want = new EntrySet(2, 1, 100);
    want.setEach(bytes(3, 3, 9, 9, 1, 1), bytes(30, 90, 11), 3);
    expect([0, 1, 2].map((i) => have.indexOfKeyIn(want, i))).toEqual([2, -1, 0]);
    expect([have.hasValueIn(2, want, 0), have.hasValueIn(0, want, 2)]).toEqual([true, false]);
    expect(() => have.indexOfKeyIn(new EntrySet(3, 1), 0)).toThrow(/keys of 3 bytes/);
    expect([...have.keysBetween(1, 3)]).toEqual([2, 2, 3, 3]);
    expect([...have.valuesBetween(0, 2)]).toEqual([10, 20]);
  });

  it('gives copies: changing what it returned changes nothing in it', () => {
    const set = new EntrySet(1, 1);
    set.set(bytes(1), bytes(2));
    set.entries()[0]![1][0] = 99;
    expect(listed(set)).toEqual(['01=02']);
  });

  it.each([
    { name: 'a short key', key: bytes(1), value: bytes(1) },
    { name: 'a long value', key: bytes(1, 2), value: bytes(1, 2) },
  ])('refuses $name', ({ key, value }) => {
    const set = new EntrySet(2, 1);
    expect(() => set.set(key, value)).toThrow(/bytes where a map's keys and values are 2 and 1/);
    expect(set.size).toBe(0);
  });

  it('agrees with a Map of hex keys on any sequence of sets, however far it grows', () => {
    const entry = fc.tuple(fc.uint8Array({ minLength: 3, maxLength: 3 }), fc.uint8Array({ minLength: 2, maxLength: 2 }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 400 }), fc.nat(64), (entries, expected) => {
        const set = new EntrySet(3, 2, expected);
        const model = new Map<string, string>();
        for (const [k, v] of entries) {
          set.set(k, v);
          model.set(hexOf(k), hexOf(v));
        }
        expect(listed(set)).toEqual([...model].map(([k, v]) => `${k}=${v}`));
        for (const [k] of entries) expect(hexOf(set.keyAt(set.indexOf(k)))).toBe(hexOf(k));
      }),
    );
  });
});

describe('batchSupportFrom (a one-element BPF_MAP_LOOKUP_BATCH)', () => {
  it.each([
    { name: 'an entry read', result: 0, want: true },
    { name: 'an empty map (ENOENT)', result: -2, want: true },
    { name: 'a first hash bucket larger than one (ENOSPC)', result: -28, want: true },
    { name: 'a kernel without the command (EINVAL)', result: -22, want: false },
    { name: 'a map type without batch ops (ENOTSUPP)', result: -524, want: false },
    { name: 'EOPNOTSUPP', result: -95, want: false },
    { name: 'no permission (EPERM): no answer', result: -1, want: undefined },
  ])('$name → $want', ({ result, want }) => {
    expect(batchSupportFrom(result)).toBe(want);
  });
});
