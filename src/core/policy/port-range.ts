// Port ranges as LPM blocks, as Cilium's PortRangeToMaskedPorts (pkg/policy/portrange.go) splits
// them: a minimal set of aligned blocks, each a port and the number of leading bits that matter.

export interface PortBlock {
  port: number;
  /** Leading port bits matched: 16 = the exact port, 0 = every port. */
  bits: number;
}

function leadingZeros16(x: number): number {
  return x === 0 ? 16 : Math.clz32(x & 0xffff) - 16;
}

function trailingZeros16(x: number): number {
  x &= 0xffff;
  if (x === 0) return 16;
  return 31 - Math.clz32(x & -x);
}

/** maskedPort: the block of `port` with its `wildcardBits` lowest bits free. */
function block(port: number, wildcardBits: number): PortBlock {
  const mask = (0xffff << wildcardBits) & 0xffff;
  return { port: port & mask, bits: 16 - wildcardBits };
}

/**
 * PortRangeToMaskedPorts: 0 with end 0 or 65535 is every port; `end <= start` is the single port
 * `start`; otherwise blocks covering start..end from both ends toward the highest differing bit.
 */
export function portRangeBlocks(start: number, end: number): PortBlock[] {
  if (start === 0 && (end === 0 || end === 0xffff)) return [{ port: 0, bits: 0 }];
  if (end <= start) return [{ port: start, bits: 16 }];
  const commonBits = leadingZeros16(start ^ end);
  const mask = 0xffff >> commonBits;
  if ((start & mask) === 0 && (~end & mask) === 0) return [block(start, 16 - commonBits)];
  const middleBit = 16 - 1 - commonBits;
  const middle = 1 << middleBit;
  const out: PortBlock[] = [];
  let bit = trailingZeros16(start | middle);
  out.push(block(start, bit));
  for (bit++; bit < middleBit; bit++) if ((start & (1 << bit)) === 0) out.push(block(start + (1 << bit), bit));
  bit = trailingZeros16(~end | middle);
  out.push(block(end, bit));
  for (bit++; bit < middleBit; bit++) if ((end & (1 << bit)) !== 0) out.push(block(end - (1 << bit), bit));
  return out;
}
