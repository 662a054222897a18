// Bearer-token auth. The admin token (Worker secret IDPLANE_ADMIN_TOKEN) is compared here in
// constant time; a node token (`<node>.<secret>`) is recognised by its shape and verified against
// its stored hash by the cluster's Durable Object in the same call that uses it, so routes outside
// a cluster (the cluster registry, the OpenAPI document) take the admin token only.
import type { MiddlewareHandler } from 'hono';
import { parseNodeToken } from '../src/core/auth.js';
import { DomainError } from '../src/core/errors.js';
import type { AppEnv } from './app-env.js';

// RFC 6750 b64token, as Hono's bearer-auth reads it.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

const utf8 = new TextEncoder();

/**
 * Compares the token with the admin token in constant time, with the runtime's own synchronous
 * comparison (Hono's timingSafeEqual hashes both through crypto.subtle on every request). Tokens
 * of another length are compared against the admin token itself, so the time taken never depends
 * on where they differ; only a length mismatch is told apart, as in Cloudflare's own recipe.
 */
export function isAdminToken(admin: string, token: string): boolean {
  const a = utf8.encode(admin);
  const b = utf8.encode(token);
  return a.byteLength === b.byteLength ? crypto.subtle.timingSafeEqual(a, b) : !crypto.subtle.timingSafeEqual(a, a);
}

export function tokenAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw new DomainError('unauthorized', 'missing bearer token');
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw new DomainError('unauthorized', 'malformed Authorization header');
    const admin = c.env.IDPLANE_ADMIN_TOKEN;
    if (typeof admin === 'string' && admin.length > 0 && isAdminToken(admin, token)) {
      c.set('principal', { kind: 'admin' });
    } else {
      const node = parseNodeToken(token);
      if (!node) throw new DomainError('unauthorized', 'invalid bearer token');
      c.set('principal', node);
    }
    await next();
  };
}

/** For routes outside any one cluster, where a node token cannot be verified. */
export function adminOnly(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get('principal').kind !== 'admin') throw new DomainError('forbidden', 'this route needs the admin token');
    await next();
  };
}
