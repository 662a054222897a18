// The Hono app: body limit, auth, the cluster gate, routes, the OpenAPI document, and the one
// error handler: every failure is thrown as a DomainError (or is a bug) and answered there.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { JSON_BODY_LIMIT } from '../src/api/common.js';
import { POLICY_BODY_LIMIT } from '../src/core/policy/parse.js';
import { DomainError, ERROR_CODES, type ErrorCode } from '../src/core/errors.js';
import type { AppEnv } from './app-env.js';
import { adminOnly, tokenAuth } from './auth.js';
import { requireKnownCluster } from './cluster-gate.js';
import { errorResponse, isDomainError } from './errors.js';
import { KnownClusters, type KnownClustersOptions } from './known-clusters.js';
import { registerClusterRoutes } from './routes/clusters.js';
import { registerConfigRoutes } from './routes/config.js';
import { registerEndpointRoutes } from './routes/endpoints.js';
import { registerFeedRoutes } from './routes/feed.js';
import { registerIdentityRoutes } from './routes/identities.js';
import { registerNamespaceRoutes } from './routes/namespaces.js';
import { registerNodePolicyRoutes } from './routes/node-policy.js';
import { registerNodeRoutes } from './routes/nodes.js';
import { registerPolicyRoutes } from './routes/policies.js';

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
  params?: { code?: unknown };
}

/** The first validation issue as `field.path: message`, with the issue's own code when it has one. */
function describeIssue(target: string, issues: ZodIssueLike[]): { code: ErrorCode; message: string } {
  const issue = issues[0];
  if (!issue) return { code: 'invalid-request', message: `invalid ${target}` };
  const own = issue.params?.code;
  const code = typeof own === 'string' && (ERROR_CODES as readonly string[]).includes(own) ? (own as ErrorCode) : 'invalid-request';
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : target;
  return { code, message: `${where}: ${issue.message}` };
}

/** The PUT paths of CNPs and CCNPs, which take bodies up to POLICY_BODY_LIMIT. */
const POLICY_PUT_PATH = /^\/v1\/clusters\/[^/]+\/(policies\/[^/]+|clusterwide-policies)\/[^/]+$/;

/** The isolate cache of known clusters: bounded, and short-lived (see known-clusters.ts). */
const CLUSTER_CACHE: KnownClustersOptions = { maxEntries: 10_000, ttlMs: 30_000, now: Date.now };

/** One app per isolate (worker/index.ts); tests make more to play other isolates. */
export function createApp(cache: Partial<KnownClustersOptions> = {}): OpenAPIHono<AppEnv> {
  const known = new KnownClusters({ ...CLUSTER_CACHE, ...cache });
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const { code, message } = describeIssue(result.target, result.error.issues as ZodIssueLike[]);
      throw new DomainError(code, message);
    },
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const limitBody = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new DomainError('payload-too-large', `request body is over ${maxSize} bytes`);
      },
    });
  const jsonLimit = limitBody(JSON_BODY_LIMIT);
  const policyLimit = limitBody(POLICY_BODY_LIMIT);
  // Policy objects may be large (YAML up to 1 MiB); every other body is small JSON.
  app.use('/v1/*', (c, next) => (POLICY_PUT_PATH.test(c.req.path) ? policyLimit : jsonLimit)(c, next));
  app.use('/v1/*', tokenAuth());
  app.use('/openapi.json', tokenAuth(), adminOnly());
  app.use('/v1/clusters', adminOnly());
  app.use('/v1/clusters/:cluster', adminOnly());
  // Everything below a cluster. (A plain `/*`, unlike a `{.+}` parameter, keeps every route
  // within what Hono's RegExpRouter compiles: one regex match per request, not a trie walk.)
  app.use('/v1/clusters/:cluster/*', requireKnownCluster(known));

  registerClusterRoutes(app, known);
  registerNodeRoutes(app);
  registerNodePolicyRoutes(app);
  registerEndpointRoutes(app);
  registerIdentityRoutes(app);
  registerNamespaceRoutes(app);
  registerPolicyRoutes(app);
  registerConfigRoutes(app);
  registerFeedRoutes(app);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'idplane', version: '1', description: 'Cilium-style security identities for Kubernetes clusters' },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });

  app.notFound((c) => {
    throw new DomainError('not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  });
  app.onError((err, c) => {
    if (isDomainError(err)) return errorResponse(c, err.code, err.message, err.retryAfterSeconds);
    // Hono's own JSON body parser: the body is not JSON.
    if (err instanceof HTTPException) return errorResponse(c, err.status === 400 ? 'malformed-json' : 'invalid-request', err.message || 'malformed request body');
    console.error('unhandled error', err);
    return errorResponse(c, 'internal', 'internal error');
  });
  return app;
}
