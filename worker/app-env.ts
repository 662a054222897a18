// Hono environment of the worker: bindings from wrangler.toml and the authenticated principal.
import type { Principal } from '../src/core/auth.js';

export interface AppEnv {
  Bindings: Env;
  Variables: { principal: Principal };
}
