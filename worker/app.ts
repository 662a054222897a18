// The Hono app: body limit, auth, routes, the OpenAPI document, and the one error handler.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { JSON_BODY_LIMIT } from '../src/api/common.js';
import { ERROR_CODES, type ErrorCode } from '../src/core/errors.js';
import type { AppEnv } from './app-env.js';
import { tokenAuth } from './auth.js';
import { errorResponse, isDomainError } from './errors.js';
import { registerConfigRoutes } from './routes/config.js';
import { registerEndpointRoutes } from './routes/endpoints.js';
import { registerFeedRoutes } from './routes/feed.js';
import { registerIdentityRoutes } from './routes/identities.js';
import { registerNodeRoutes } from './routes/nodes.js';

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

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const { code, message } = describeIssue(result.target, result.error.issues as ZodIssueLike[]);
      return errorResponse(c, code, message);
    },
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: JSON_BODY_LIMIT,
      onError: (c) => errorResponse(c, 'payload-too-large', `request body is over ${JSON_BODY_LIMIT} bytes`),
    }),
  );
  app.use('/v1/*', tokenAuth());
  app.use('/openapi.json', tokenAuth());

  registerNodeRoutes(app);
  registerEndpointRoutes(app);
  registerIdentityRoutes(app);
  registerConfigRoutes(app);
  registerFeedRoutes(app);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'idplane', version: '1', description: 'Cilium-style security identities for Kubernetes clusters' },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });

  app.notFound((c) => errorResponse(c, 'not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((err, c) => {
    if (isDomainError(err)) return errorResponse(c, err.code, err.message);
    if (err instanceof HTTPException) {
      if (err.status === 401 || err.status === 413) return err.getResponse();
      if (err.status === 400) return errorResponse(c, 'malformed-json', err.message || 'malformed request body');
      return errorResponse(c, 'invalid-request', err.message);
    }
    console.error('unhandled error', err);
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}
