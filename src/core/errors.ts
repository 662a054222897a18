// Domain errors: a machine-readable code and a message. Pure code throws these; the worker maps
// codes to HTTP statuses in one table (worker/errors.ts) and the DO returns them as data.

export const ERROR_CODES = [
  'invalid-request',
  'malformed-json',
  'payload-too-large',
  'unauthorized',
  'forbidden',
  'invalid-label',
  'duplicate-label-key',
  'label-not-found',
  'reserved-label',
  'managed-label',
  'labels-too-large',
  'invalid-ip',
  'invalid-endpoint-ref',
  'invalid-label-filter',
  'invalid-cluster-name',
  'invalid-node-name',
  'invalid-namespace-name',
  'invalid-revision',
  'invalid-cursor',
  'invalid-policy',
  'unsupported-policy-field',
  'cluster-not-found',
  'node-not-found',
  'namespace-not-found',
  'endpoint-not-found',
  'identity-not-found',
  'policy-not-found',
  'endpoint-ref-taken',
  'ip-in-use',
  'cluster-id-taken',
  'cluster-not-empty',
  'node-deleting',
  'endpoint-ids-exhausted',
  'identity-space-exhausted',
  'node-deletion-incomplete',
  'rate-limited',
  'not-found',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** For `rate-limited`: seconds until a retry can succeed (the HTTP Retry-After header). */
  retryAfterSeconds?: number;
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: this.retryAfterSeconds }) };
  }
}

/** What a DO RPC method returns: RPC drops an Error's own properties, so failures travel as data. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };
