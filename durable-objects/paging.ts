// Pages of list answers and feed reads, bounded by count and by bytes so that no RPC result
// (Workers' limit: 32 MiB) comes near the limit, with opaque cursors: base64url JSON of the last
// row's position.
import { decodeBase64Url, encodeBase64Url } from '../src/core/base64url.js';
import { DomainError } from '../src/core/errors.js';

/** About this many bytes of JSON per page: a few MiB, far below the RPC limit. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export function encodeCursor(position: unknown): string {
  return encodeBase64Url(new TextEncoder().encode(JSON.stringify(position)));
}

export function decodeCursor<T>(cursor: string, isPosition: (v: unknown) => v is T): T {
  const bytes = decodeBase64Url(cursor);
  let value: unknown;
  try {
    value = bytes === undefined ? undefined : JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    value = undefined;
  }
  if (!isPosition(value)) throw new DomainError('invalid-cursor', 'cursor is not one this API issued');
  return value;
}

/**
 * Takes items from `rows` (read lazily) until `limit` items or about `maxBytes` (by `sizeOf`).
 * Unless `atLeastOne` is false, the first item is taken whatever its size, so that one oversized
 * item still moves a reader on. `more` says that a row was left, so the caller can go on.
 */
export function takeWithin<R, T>(
  rows: Iterable<R>,
  opts: { limit: number; maxBytes: number; toItem: (row: R) => T; sizeOf: (item: T, row: R) => number; atLeastOne?: boolean },
): { items: T[]; last: R | undefined; more: boolean } {
  const items: T[] = [];
  let last: R | undefined;
  let bytes = 0;
  for (const row of rows) {
    if (items.length >= opts.limit) return { items, last, more: true };
    const item = opts.toItem(row);
    const size = opts.sizeOf(item, row);
    const mayOverflow = items.length === 0 && opts.atLeastOne !== false;
    if (!mayOverflow && bytes + size > opts.maxBytes) return { items, last, more: true };
    bytes += size;
    items.push(item);
    last = row;
  }
  return { items, last, more: false };
}

/** One list page of API items, with `next-cursor` (the last row's position) when rows are left. */
export function takePage<R, T>(
  rows: Iterable<R>,
  limit: number,
  toItem: (row: R) => T,
  positionOf: (row: R) => unknown,
): { items: T[]; 'next-cursor'?: string } {
  const page = takeWithin(rows, { limit, maxBytes: MAX_PAGE_BYTES, toItem, sizeOf: (item) => JSON.stringify(item).length + 1 }); // + its comma
  return { items: page.items, ...(page.more && page.last !== undefined ? { 'next-cursor': encodeCursor(positionOf(page.last)) } : {}) };
}
