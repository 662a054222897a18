// The allocation key of an identity: the SHA-256 of its canonical label list (sortedList).
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { sortedList, type LabelSet } from './labels.js';

export interface IdentityKey {
  /** Cilium's SortedList() text: the identity's canonical key. */
  canonical: string;
  /** Lowercase hex SHA-256 of `canonical`: the allocation key and `labelsSHA256`. */
  sha256: string;
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

export function identityKeyOf(labels: LabelSet): IdentityKey {
  const canonical = sortedList(labels);
  return { canonical, sha256: sha256Hex(canonical) };
}
