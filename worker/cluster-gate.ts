// Every route under /v1/clusters/{cluster}/ passes here first: an unknown cluster answers
// `cluster-not-found` without its Durable Object being touched (any call to a never-written
// SQLite object creates its storage). Known clusters are cached in the isolate.
import type { MiddlewareHandler } from 'hono';
import { DomainError } from '../src/core/errors.js';
import { isDns1123Label } from '../src/core/k8s-names.js';
import type { AppEnv } from './app-env.js';
import { unwrap } from './errors.js';
import type { KnownClusters } from './known-clusters.js';
import { registryStub } from './routes/route-kit.js';

/** A path below `/v1/clusters/{cluster}/`, not the cluster resource itself. */
const BELOW_A_CLUSTER = /^\/v1\/clusters\/[^/]+\/./;

export function requireKnownCluster(known: KnownClusters): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // `/*` matches the cluster resource itself too: that route asks the registry on its own.
    if (!BELOW_A_CLUSTER.test(c.req.path)) return next();
    const name = c.req.param('cluster');
    if (name === undefined || !isDns1123Label(name)) throw new DomainError('invalid-cluster-name', 'cluster name must be a DNS-1123 label');
    if (!known.has(name)) {
      unwrap(await registryStub(c.env).getCluster(name));
      known.remember(name);
    }
    await next();
    // Deleted through another isolate: the cluster's object said so.
    if (c.error instanceof DomainError && c.error.code === 'cluster-not-found') known.forget(name);
  };
}
