// /v1/clusters/{cluster}/feed (long-poll) and /feed/ws (WebSocket, forwarded to the DO).
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam } from '../../src/api/common.js';
import { FeedPageSchema, FeedQuery } from '../../src/api/feed.js';
import type { ErrorResponse } from '../../src/api/common.js';
import { PRINCIPAL_HEADER } from '../../src/core/auth.js';
import { DomainError } from '../../src/core/errors.js';
import type { AppEnv } from '../app-env.js';
import { unwrap } from '../errors.js';
import { clusterStub, ERROR_RESPONSES, json } from './route-kit.js';

const readFeed = createRoute({
  method: 'get',
  path: '/v1/clusters/{cluster}/feed',
  summary: 'Change feed: batches after `since`, long-polling up to `wait` seconds',
  request: { params: ClusterParam, query: FeedQuery },
  responses: { 200: json(FeedPageSchema, 'Batches, an empty page when `wait` ran out, or a resync'), ...ERROR_RESPONSES },
});

export function registerFeedRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(readFeed, async (c) => {
    const { cluster } = c.req.valid('param');
    const { since, wait, chunk } = c.req.valid('query');
    return c.json(unwrap(await clusterStub(c.env, cluster).readFeed(c.get('principal'), since, wait ?? 0, chunk ?? 0)), 200);
  });

  app.get('/v1/clusters/:cluster/feed/ws', async (c) => {
    // The cluster name was checked by the cluster gate.
    const cluster = c.req.param('cluster');
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new DomainError('invalid-request', 'expected a WebSocket upgrade');
    const since = c.req.query('since') ?? '0';
    if (!/^[0-9]{1,15}$/.test(since)) throw new DomainError('invalid-request', 'since: must be a revision (an integer ≥ 0)');
    const headers = new Headers(c.req.raw.headers);
    headers.set(PRINCIPAL_HEADER, JSON.stringify(c.get('principal')));
    const res = await clusterStub(c.env, cluster).fetch(new Request(c.req.url, { headers }));
    if (res.status === 101) return res;
    // The object refused the upgrade with an error body: answered by the one error handler.
    const { error } = (await res.json()) as ErrorResponse;
    throw new DomainError(error.code, error.message);
  });
}
