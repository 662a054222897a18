// Hono environment of the worker: bindings from wrangler.toml.
export interface AppEnv {
  Bindings: Env;
}
