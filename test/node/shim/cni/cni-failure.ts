// The CNI error a call throws, as `{code, msg}`, for table tests of the plugin's pure parts.
import { CniError } from '../../../../src/shim/cni/errors.js';

export function cniFailure(f: () => unknown): { code: number; msg: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof CniError) return { code: e.code, msg: e.message };
    throw e;
  }
  throw new Error('did not fail');
}
