// Helpers shared by the route modules: JSON bodies and responses for createRoute, the error
// responses every route documents, and the stubs of the cluster's Durable Object and the registry.
import { z } from '@hono/zod-openapi';
import { REGISTRY_NAME } from '../../durable-objects/registry-do.js';
import { ErrorResponse } from '../../src/api/common.js';
import type { AppEnv } from '../app-env.js';

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const;
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

const error = (description: string) => json(ErrorResponse, description);

export const ERROR_RESPONSES = {
  400: error('Invalid request: bad body, label, IP, reference or parameter'),
  401: error('Missing or invalid bearer token'),
  403: error('A node token acting outside its node, or on an admin-only route'),
  404: error('Unknown cluster, node, endpoint, identity or namespace'),
  409: error('Conflict: endpoint reference, IP or cluster ID already taken; cluster not empty; node being deleted'),
  413: error('Body over 64 KiB'),
  429: error('A node allocating new identities faster than its rate (Retry-After: seconds)'),
  503: error('A node removal batch failed: the node stays deleting and the alarm retries; DELETE again later'),
  507: error('No free endpoint number or identity'),
} as const;

export function clusterStub(env: AppEnv['Bindings'], cluster: string) {
  return env.CLUSTER.getByName(cluster);
}

export function registryStub(env: AppEnv['Bindings']) {
  return env.REGISTRY.getByName(REGISTRY_NAME);
}
