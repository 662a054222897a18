// CNI errors: the spec's well-known codes, the plugin's own (100+), and the error result printed
// on stdout. Pure.

/** CNI spec 1.0.0 §5 "Error": codes 1–99 are the spec's, 100+ the plugin's. */
export const CNI_ERROR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  /** The local agent (or the control plane behind it) refused the request; its code is in the message. */
  agentRefused: 100,
  /** CHECK: the endpoint is missing or differs from the attachment. */
  checkFailed: 101,
  /** ADD: the container interface or its host-side peer is missing or not a veth. */
  linkNotFound: 102,
  /** Anything unforeseen, as libcni's skel reports it (types.ErrInternal). */
  internal: 999,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** The error result (spec §5): `cniVersion` as the configuration gave it. */
export function errorResult(cniVersion: string, e: unknown): CniErrorResult {
  const err = e instanceof CniError ? e : new CniError(CNI_ERROR.internal, e instanceof Error ? e.message : String(e));
  return { cniVersion, code: err.code, msg: err.message, ...(err.details === '' ? {} : { details: err.details }) };
}
