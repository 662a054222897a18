// The one place errors become HTTP responses: the code → status table and the error body.
import type { Context } from 'hono';
import { DomainError, type ErrorCode, type Result } from '../src/core/errors.js';
import type { ErrorResponse } from '../src/api/common.js';

export const STATUS_BY_CODE: Record<ErrorCode, 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503 | 507> = {
  'invalid-request': 400,
  'malformed-json': 400,
  'payload-too-large': 413,
  unauthorized: 401,
  forbidden: 403,
  'invalid-label': 400,
  'duplicate-label-key': 400,
  'label-not-found': 400,
  'reserved-label': 400,
  'managed-label': 400,
  'labels-too-large': 400,
  'invalid-ip': 400,
  'invalid-endpoint-ref': 400,
  'invalid-label-filter': 400,
  'invalid-cluster-name': 400,
  'invalid-node-name': 400,
  'invalid-namespace-name': 400,
  'invalid-revision': 400,
  'invalid-cursor': 400,
  'invalid-policy': 400,
  'unsupported-policy-field': 400,
  'cluster-not-found': 404,
  'node-not-found': 404,
  'namespace-not-found': 404,
  'endpoint-not-found': 404,
  'identity-not-found': 404,
  'policy-not-found': 404,
  'not-found': 404,
  'endpoint-ref-taken': 409,
  'ip-in-use': 409,
  'cluster-id-taken': 409,
  'cluster-not-empty': 409,
  'node-deleting': 409,
  'endpoint-ids-exhausted': 507,
  'identity-space-exhausted': 507,
  'node-deletion-incomplete': 503,
  'rate-limited': 429,
  internal: 500,
};

/**
 * Only `app.onError` answers with this: everything else throws a DomainError. A retry delay goes
 * out as Retry-After (seconds), as Cilium's API rate limiter sends it.
 */
export function errorResponse(c: Context, code: ErrorCode, message: string, retryAfterSeconds?: number): Response {
  const status = STATUS_BY_CODE[code];
  const body: ErrorResponse = { error: { code, message } };
  const headers: Record<string, string> = {};
  // RFC 6750 §3: a 401 names the scheme the client should use.
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return c.json(body, status, headers);
}

/** The value of a DO result; a failure is thrown as a DomainError for `app.onError` to answer. */
export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new DomainError(result.error.code, result.error.message, result.error.retryAfterSeconds);
  return result.value;
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
