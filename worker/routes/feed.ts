// /v1/clusters/{cluster}/feed (long-poll) and /feed/ws (WebSocket, forwarded to the DO).
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { ClusterParam } from '../../src/api/common.js';
import { FeedPageSchema, FeedQuery } from '../../src/api/feed.js';
import { PRINCIPAL_HEADER } from '../../src/core/auth.js';
import { isDns1123Label } from '../../src/core/k8s-names.js';
import type { AppEnv } from '../app-env.js';
import { errorResponse, unwrap } from '../errors.js';
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
    const { since, wait } = c.req.valid('query');
    return c.json(unwrap(await clusterStub(c.env, cluster).readFeed(c.get('principal'), since, wait ?? 0)), 200);
  });

  app.get('/v1/clusters/:cluster/feed/ws', async (c) => {
    const cluster = c.req.param('cluster');
    if (!isDns1123Label(cluster)) return errorResponse(c, 'invalid-cluster-name', 'cluster name must be a DNS-1123 label');
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return errorResponse(c, 'invalid-request', 'expected a WebSocket upgrade');
    const since = c.req.query('since') ?? '0';
    if (!/^[0-9]{1,15}$/.test(since)) return errorResponse(c, 'invalid-request', 'since: must be a revision (an integer ≥ 0)');
    const headers = new Headers(c.req.raw.headers);
    headers.set(PRINCIPAL_HEADER, JSON.stringify(c.get('principal')));
    return clusterStub(c.env, cluster).fetch(new Request(c.req.url, { headers }));
  });
}
