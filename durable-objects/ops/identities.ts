// Identity and ipcache reads.
import type { Identity, IdentityList, Ipcache } from '../../src/api/identities.js';
import { DomainError } from '../../src/core/errors.js';
import { RESERVED_IDENTITIES, reservedIdentity } from '../../src/core/identity.js';
import { identityKeyOf } from '../../src/core/identity-key.js';
import { buildLabelSet, parseLabel } from '../../src/core/labels.js';
import type { ClusterState } from '../cluster-state.js';
import { decodeCursor, takePage } from '../paging.js';
import { toIdentity, toIpcacheEntry, toReservedIdentity } from '../models.js';

const DEFAULT_LIMIT = 1000;

function notFound(what: string): DomainError {
  return new DomainError('identity-not-found', `identity ${what} not found`);
}

export function getIdentity(state: ClusterState, nid: number): Identity {
  const reserved = reservedIdentity(nid);
  if (reserved) return toReservedIdentity(reserved, 0);
  const row = state.identities.get(nid);
  if (!row) throw notFound(String(nid));
  return toIdentity(row);
}

/** Looks one identity up by its labels, as given (no filter): reserved ones included. */
function lookupByLabels(state: ClusterState, text: string): Identity {
  const labels = buildLabelSet(text.split(',').filter((s) => s !== '').map(parseLabel));
  const key = identityKeyOf(labels);
  const reserved = RESERVED_IDENTITIES.find(
    (r) => r.labels.length > 0 && identityKeyOf(buildLabelSet(r.labels.map(parseLabel))).sha256 === key.sha256,
  );
  if (reserved) return toReservedIdentity(reserved, 0);
  const row = state.identities.bySha256(key.sha256);
  if (!row) throw notFound(`with labels ${text}`);
  return toIdentity(row);
}

export interface IdentityListArgs {
  labels?: string;
  reserved?: boolean;
  limit?: number;
  cursor?: string;
}

export function listIdentities(state: ClusterState, args: IdentityListArgs): IdentityList {
  if (args.labels !== undefined) return { identities: [lookupByLabels(state, args.labels)] };
  const limit = args.limit ?? DEFAULT_LIMIT;
  const after = args.cursor === undefined ? 0 : decodeCursor(args.cursor, (v): v is number => Number.isInteger(v));
  const reserved = args.reserved && after === 0 ? RESERVED_IDENTITIES.map((r) => toReservedIdentity(r, 0)) : [];
  const { items, ...next } = takePage(state.identities.page(after, limit + 1), limit, toIdentity, (row) => row.id);
  return { identities: [...reserved, ...items], ...next };
}

export function getIpcache(state: ClusterState, args: { limit?: number; cursor?: string }): Ipcache {
  const limit = args.limit ?? 10000;
  const after = args.cursor === undefined ? undefined : decodeCursor(args.cursor, (v): v is string => typeof v === 'string');
  const { items, ...next } = takePage(state.ipcache.page(after, limit + 1), limit, toIpcacheEntry, (row) => row.prefix);
  return { revision: state.revision(), entries: items, ...next };
}
