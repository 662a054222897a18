// Opaque pagination cursors: base64url JSON of the last row's position.
import { DomainError } from '../src/core/errors.js';

export function encodeCursor(position: unknown): string {
  return btoa(JSON.stringify(position)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeCursor<T>(cursor: string, isPosition: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    throw new DomainError('invalid-cursor', 'cursor is not one this API issued');
  }
  if (!isPosition(value)) throw new DomainError('invalid-cursor', 'cursor is not one this API issued');
  return value;
}
