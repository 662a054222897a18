// Identity and ipcache reads. Identities are the cluster's own (numbers below 1<<24) and then the
// CIDR identities of the prefixes policies name (local scope, 1<<24 and up): one number order.
import type { Identity, IdentityList, Ipcache } from '../../src/api/identities.js';
import { DomainError } from '../../src/core/errors.js';
import { RESERVED_IDENTITIES, reservedIdentity } from '../../src/core/identity.js';
import { identityKeyOf, type IdentityKey } from '../../src/core/identity-key.js';
import { buildLabelSet, parseLabel, type LabelSet } from '../../src/core/labels.js';
import { canonicalPrefix } from '../../src/core/policy/peers.js';
import type { ClusterState } from '../cluster-state.js';
import { decodeCursor, takePage } from '../paging.js';
import { toCidrIdentity, toIdentity, toIpcacheEntry, toReservedIdentity } from '../models.js';

const DEFAULT_LIMIT = 1000;

function notFound(what: string): DomainError {
  return new DomainError('identity-not-found', `identity ${what} not found`);
}

export function getIdentity(state: ClusterState, nid: number): Identity {
  const reserved = reservedIdentity(nid);
  if (reserved) return toReservedIdentity(reserved, 0);
  const row = state.identities.get(nid);
  if (row) return toIdentity(row);
  const prefix = state.policies.cidrIdentity(nid);
  if (prefix !== undefined) return toCidrIdentity(nid, prefix);
  throw notFound(String(nid));
}

/**
 * The CIDR identity whose labels are exactly `labels`, if any: the prefix is read back from the
 * `cidr:` label (IPv6 colons written as dashes) and the whole label set checked against its key.
 */
function cidrIdentityByLabels(state: ClusterState, labels: LabelSet, key: IdentityKey): Identity | undefined {
  const cidr = [...labels.values()].find((label) => label.source === 'cidr');
  const prefix = cidr && canonicalPrefix(cidr.key.replaceAll('-', ':'));
  if (prefix === undefined) return undefined;
  const id = state.policies.cidrIdentityOf(prefix);
  const identity = id === undefined ? undefined : toCidrIdentity(id, prefix);
  return identity?.labelsSHA256 === key.sha256 ? identity : undefined;
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
  if (row) return toIdentity(row);
  const cidr = cidrIdentityByLabels(state, labels, key);
  if (cidr) return cidr;
  throw notFound(`with labels ${text}`);
}

/** Identities numbered above `afterId`: the cluster's, then the CIDR ones (read only when reached). */
function* identitiesAfter(state: ClusterState, afterId: number, limit: number): Generator<Identity> {
  for (const row of state.identities.page(afterId, limit)) yield toIdentity(row);
  for (const { id, prefix } of state.policies.cidrPage(afterId, limit)) yield toCidrIdentity(id, prefix);
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
  const { items, ...next } = takePage(identitiesAfter(state, after, limit + 1), limit, (identity) => identity, (identity) => identity.id);
  return { identities: [...reserved, ...items], ...next };
}

export function getIpcache(state: ClusterState, args: { limit?: number; cursor?: string }): Ipcache {
  const limit = args.limit ?? 10000;
  const after = args.cursor === undefined ? undefined : decodeCursor(args.cursor, (v): v is string => typeof v === 'string');
  const { items, ...next } = takePage(state.ipcache.page(after, limit + 1), limit, toIpcacheEntry, (row) => row.prefix);
  return { revision: state.revision(), entries: items, ...next };
}
