// The previous plugin's result (`prevResult`): the pod's addresses on its container interface, and
// the result this plugin hands on, which is prevResult itself (it changes nothing a result shows),
// converted only when its version differs from the configuration's. Pure.
import { parseIp, type ParsedIp } from '../../core/ip.js';
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import type { CniVersion } from './versions.js';
import { CNI_ERROR, CniError } from './errors.js';

const ResultInterface = z.looseObject({ name: z.string(), mac: z.optional(z.string()), sandbox: z.optional(z.string()) });
const ResultIp = z.looseObject({
  address: z.string(),
  gateway: z.optional(z.string()),
  interface: z.optional(z.number().check(z.int(), z.nonnegative())),
  version: z.optional(z.string()),
});
const Result = z.looseObject({
  cniVersion: z.optional(z.string()),
  interfaces: z.optional(z.array(ResultInterface)),
  ips: z.optional(z.array(ResultIp)),
});
export type PrevResult = z.infer<typeof Result>;

/** Result formats: 0.3.0–0.4.0 share one (IPs carry "version"), 1.0.0 drops it. */
const LEGACY_FORMAT = new Set(['0.3.0', '0.3.1', '0.4.0']);

export interface ContainerAddresses {
  ipv4: ParsedIp | undefined;
  ipv6: ParsedIp | undefined;
}

/** Checks prevResult's shape (error 6 when it is not a result). */
export function parsePrevResult(raw: Record<string, unknown> | undefined): PrevResult {
  if (raw === undefined) {
    throw new CniError(CNI_ERROR.invalidNetworkConfig, 'no prevResult: idplane-cni is a chained plugin and runs after an interface plugin (bridge, ptp) in a conflist');
  }
  const parsed = Result.safeParse(raw, { error: en().localeError });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CniError(CNI_ERROR.decodeFailure, `prevResult: ${['prevResult', ...issue.path].join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The addresses prevResult gives the container interface CNI_IFNAME (the one with a sandbox): the
 * first of each family, as an endpoint holds one IPv4 and one IPv6 address.
 */
export function containerAddresses(result: PrevResult, ifname: string): ContainerAddresses {
  const index = (result.interfaces ?? []).findIndex((i) => i.name === ifname && (i.sandbox ?? '') !== '');
  if (index < 0) throw new CniError(CNI_ERROR.invalidNetworkConfig, `prevResult lists no container interface ${ifname}: idplane-cni runs after the plugin that creates it`);
  const out: ContainerAddresses = { ipv4: undefined, ipv6: undefined };
  for (const ip of result.ips ?? []) {
    if (ip.interface !== index) continue;
    const slash = ip.address.indexOf('/');
    const parsed = parseIp(slash < 0 ? ip.address : ip.address.slice(0, slash));
    if (!parsed) throw new CniError(CNI_ERROR.decodeFailure, `prevResult: ${JSON.stringify(ip.address)} is not an address in CIDR notation`);
    if (parsed.family === 4) out.ipv4 ??= parsed;
    else out.ipv6 ??= parsed;
  }
  if (!out.ipv4 && !out.ipv6) throw new CniError(CNI_ERROR.invalidNetworkConfig, `prevResult gives ${ifname} no address: the interface plugin before idplane-cni needs an IPAM`);
  return out;
}

/**
 * The result to print: prevResult unchanged when it is already in the configuration's version,
 * else converted as libcni converts results (0.4.0 → 1.0.0 drops each IP's "version", 1.0.0 →
 * 0.4.0 adds it); fields the plugin does not know are kept.
 */
export function resultForVersion(raw: Record<string, unknown>, result: PrevResult, to: CniVersion): Record<string, unknown> {
  const from = result.cniVersion ?? to;
  if (from === to) return result.cniVersion === undefined ? { cniVersion: to, ...raw } : raw;
  const fromLegacy = LEGACY_FORMAT.has(from);
  if (!fromLegacy && from !== '1.0.0') throw new CniError(CNI_ERROR.incompatibleVersion, `prevResult has CNI version ${from}, which idplane-cni cannot convert to ${to}`);
  if (fromLegacy === (to !== '1.0.0')) return { ...raw, cniVersion: to };
  const ips = (raw.ips as Record<string, unknown>[] | undefined)?.map((ip, i) => {
    const { version: _dropped, ...rest } = ip;
    return to === '1.0.0' ? rest : { ...rest, version: result.ips![i]!.address.includes(':') ? '6' : '4' };
  });
  return { ...raw, cniVersion: to, ...(ips ? { ips } : {}) };
}
