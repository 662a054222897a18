// Port ranges → LPM blocks, against Cilium's portrange_test vectors and a brute-force coverage check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { portRangeBlocks, type PortBlock } from '../../../../src/core/policy/port-range.js';

const sorted = (blocks: PortBlock[]) => [...blocks].sort((a, b) => a.port - b.port);
/** Cilium writes blocks as {port, mask}; the mask's leading ones are the block's bits. */
const masked = (pairs: [number, number][]) => pairs.map(([port, mask]) => ({ port, bits: 16 - Math.log2((~mask & 0xffff) + 1) }));

describe('portRangeBlocks (PortRangeToMaskedPorts)', () => {
  it.each([
    { start: 1, end: 1023, want: masked([[0x1, 0xffff], [0x2, 0xfffe], [0x4, 0xfffc], [0x8, 0xfff8], [0x10, 0xfff0], [0x20, 0xffe0], [0x40, 0xffc0], [0x80, 0xff80], [0x100, 0xff00], [0x200, 0xfe00]]) },
    { start: 0, end: 1023, want: masked([[0, 0xfc00]]) },
    { start: 1024, end: 65535, want: masked([[0x400, 0xfc00], [0x800, 0xf800], [0x1000, 0xf000], [0x2000, 0xe000], [0x4000, 0xc000], [0x8000, 0x8000]]) },
    { start: 5, end: 10, want: [{ port: 5, bits: 16 }, { port: 6, bits: 15 }, { port: 8, bits: 15 }, { port: 10, bits: 16 }] },
    { start: 64, end: 127, want: [{ port: 64, bits: 10 }] },
    { start: 80, end: 444, want: [{ port: 80, bits: 12 }, { port: 96, bits: 11 }, { port: 128, bits: 9 }, { port: 256, bits: 9 }, { port: 384, bits: 11 }, { port: 416, bits: 12 }, { port: 432, bits: 13 }, { port: 440, bits: 14 }, { port: 444, bits: 16 }] },
    { start: 0, end: 0, want: [{ port: 0, bits: 0 }] },
    { start: 0, end: 65535, want: [{ port: 0, bits: 0 }] },
    { start: 80, end: 0, want: [{ port: 80, bits: 16 }] },
    { start: 80, end: 70, want: [{ port: 80, bits: 16 }] },
  ])('$start-$end', ({ start, end, want }) => {
    expect(sorted(portRangeBlocks(start, end))).toEqual(sorted(want));
  });

  it('covers exactly start..end with disjoint aligned blocks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (a, b) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        const blocks = sorted(portRangeBlocks(start, end));
        let next = start;
        for (const blk of blocks) {
          const size = 2 ** (16 - blk.bits);
          expect(blk.port % size).toBe(0);
          expect(blk.port).toBe(next);
          next = blk.port + size;
        }
        expect(next - 1).toBe(end);
      }),
    );
  });
});
