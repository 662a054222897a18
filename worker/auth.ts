// Bearer-token auth with Hono's bearer-auth. The admin token (Worker secret IDPLANE_ADMIN_TOKEN)
// is compared here in constant time; a node token (`<node>.<secret>`) is recognised by its shape
// and verified against its stored hash by the cluster's Durable Object in the same call that uses
// it. Every failure is a 401 with the project's error body.
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { timingSafeEqual } from 'hono/utils/buffer';
import { parseNodeToken } from '../src/core/auth.js';
import type { AppEnv } from './app-env.js';
import { errorBody } from './errors.js';

export function tokenAuth(): MiddlewareHandler<AppEnv> {
  const reject = (message: string) => ({ message: (c: Context) => c.json(errorBody('unauthorized', message), 401) });
  return bearerAuth<AppEnv>({
    verifyToken: async (token, c) => {
      const admin = c.env.IDPLANE_ADMIN_TOKEN;
      if (typeof admin === 'string' && admin.length > 0 && (await timingSafeEqual(admin, token))) {
        c.set('principal', { kind: 'admin' });
        return true;
      }
      const node = parseNodeToken(token);
      if (!node) return false;
      c.set('principal', node);
      return true;
    },
    noAuthenticationHeader: reject('missing bearer token'),
    invalidAuthenticationHeader: reject('malformed Authorization header'),
    invalidToken: reject('invalid bearer token'),
  });
}
