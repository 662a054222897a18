// Who may do what. Principals come from bearer tokens: the deployment's admin token, or a node
// token `<node>.<secret>` issued at node registration and stored only as its SHA-256.
import { DomainError } from './errors.js';
import { sha256Hex } from './identity-key.js';
import { isDns1123Label } from './k8s-names.js';

export type Principal = { kind: 'admin' } | { kind: 'node'; node: string; token: string };

/** Header carrying the authenticated principal from the worker to the DO's WebSocket handler. */
export const PRINCIPAL_HEADER = 'x-idplane-principal';

/** What an operation needs: the admin, the named node (or the admin), or any authenticated reader. */
export type Scope = { kind: 'admin' } | { kind: 'node'; node: string } | { kind: 'reader' };

const NODE_TOKEN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([A-Za-z0-9_-]{32,128})$/;

/** Parses a node token's shape; its secret is checked against the stored hash by `authorize`. */
export function parseNodeToken(token: string): Principal | undefined {
  const m = NODE_TOKEN.exec(token);
  if (!m || !isDns1123Label(m[1]!)) return undefined;
  return { kind: 'node', node: m[1]!, token };
}

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** Compares two strings without an early exit on the first difference. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/**
 * Checks a principal against a scope. `storedHash` gives the token hash of a node (undefined when
 * the node is unknown). A node token that does not verify is `unauthorized`; a valid one outside
 * its scope is `forbidden`.
 */
export function authorize(principal: Principal, scope: Scope, storedHash: (node: string) => string | null | undefined): void {
  if (principal.kind === 'admin') return;
  const stored = storedHash(principal.node);
  if (!stored || !constantTimeEqual(stored, hashToken(principal.token))) {
    throw new DomainError('unauthorized', 'invalid bearer token');
  }
  if (scope.kind === 'admin') throw new DomainError('forbidden', 'a node token may not do this: it needs the admin token');
  if (scope.kind === 'node' && scope.node !== principal.node) {
    throw new DomainError('forbidden', `a token of node ${principal.node} may act only on that node`);
  }
}
