// Bearer-token auth: the deployment's admin token (Worker secret IDPLANE_ADMIN_TOKEN), compared in
// constant time by Hono's bearer-auth. Every failure is a 401 with the project's error body.
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppEnv } from './app-env.js';
import { errorBody } from './errors.js';

export function adminAuth(): MiddlewareHandler<AppEnv> {
  const reject = (message: string) => ({ message: (c: Context) => c.json(errorBody('unauthorized', message), 401) });
  return bearerAuth<AppEnv>({
    verifyToken: async (token, c) => {
      const admin = c.env.IDPLANE_ADMIN_TOKEN;
      return typeof admin === 'string' && admin.length > 0 && (await timingSafeEqual(admin, token));
    },
    noAuthenticationHeader: reject('missing bearer token'),
    invalidAuthenticationHeader: reject('malformed Authorization header'),
    invalidToken: reject('invalid bearer token'),
  });
}
