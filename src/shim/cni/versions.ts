// The CNI spec versions the plugin speaks and its VERSION answer. Kept apart from the configuration
// schema so that VERSION (and an early error) loads no more than this. Pure.

export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The configuration's cniVersion if it has one, else 1.0.0: the version an error result carries. */
export function peekCniVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v !== '' ? v : '1.0.0';
  } catch {
    return '1.0.0';
  }
}

/** VERSION (spec §5 "Version"): the cniVersion given on input (1.0.0 without one) and those supported. */
export function versionResult(stdin: string): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: peekCniVersion(stdin), supportedVersions: [...SUPPORTED_VERSIONS] };
}
