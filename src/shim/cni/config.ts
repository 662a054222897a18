// The plugin's network configuration (its entry in a conflist, as the runtime hands it over on
// stdin) checked with zod: error 6 when it is not JSON, 1 for a cniVersion the plugin does not
// speak, 2 for a key it does not know (a misspelt "agent-socket" must not silently fall back to
// the default), 7 for a bad value. Pure.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { DEFAULT_AGENT_SOCKET } from '../agent/socket-path.js';
import { CNI_ERROR, CniError } from './errors.js';
import type { CniCommand } from './invocation.js';
import { SUPPORTED_VERSIONS, type CniVersion } from './versions.js';

export const DEFAULT_TIMEOUT_SECONDS = 30;

/** CNI convention "args.cni.labels": the pod's labels as `[{"key", "value"}]`. */
const CniLabel = z.strictObject({ key: z.string().check(z.maxLength(400)), value: z.string().check(z.maxLength(400)) });

// What DEL reads: enough to reach the agent.
const DelConf = z.looseObject({
  name: z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must start with an alphanumeric, then alphanumerics, _ . -')),
  'agent-socket': z.optional(z.string().check(z.minLength(1))),
  'timeout-seconds': z.optional(z.number().check(z.positive(), z.maximum(3600))),
});

const NetConf = z.extend(DelConf, {
  type: z.string(),
  'wait-for-nodes': z.optional(z.boolean()),
  /** The agent attaches the reference datapath (src/datapath/bpf) to the pod before ADD returns. */
  datapath: z.optional(z.literal('reference')),
  args: z.optional(z.looseObject({ cni: z.optional(z.looseObject({ labels: z.optional(z.array(CniLabel).check(z.maxLength(256))) })) })),
  prevResult: z.optional(z.record(z.string(), z.unknown())),
});

/** Keys of the spec (§1, §3) a runtime may leave in a plugin's configuration, and the plugin's own. */
const KNOWN_KEYS = new Set([
  'cniVersion', 'name', 'type', 'args', 'prevResult', 'runtimeConfig', 'capabilities', 'ipam', 'dns',
  'agent-socket', 'timeout-seconds', 'wait-for-nodes', 'datapath',
]);

export interface PluginConf {
  cniVersion: CniVersion;
  name: string;
  agentSocket: string;
  timeoutMs: number;
  waitForNodes: boolean;
  datapath: 'reference' | undefined;
  labels: readonly { key: string; value: string }[];
  /** The previous plugin's result, as given (absent on an ADD that is not chained). */
  prevResult: Record<string, unknown> | undefined;
}

const localeError = en().localeError;

function invalidConf(issue: z.core.$ZodIssue): CniError {
  const path = issue.path.length === 0 ? 'configuration' : issue.path.join('.');
  return new CniError(CNI_ERROR.invalidNetworkConfig, `invalid network configuration: ${path}: ${issue.message}`);
}

function toPluginConf(cniVersion: CniVersion, conf: z.infer<typeof DelConf> & Partial<z.infer<typeof NetConf>>): PluginConf {
  return {
    cniVersion,
    name: conf.name,
    agentSocket: conf['agent-socket'] ?? DEFAULT_AGENT_SOCKET,
    timeoutMs: (conf['timeout-seconds'] ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    waitForNodes: conf['wait-for-nodes'] ?? false,
    datapath: conf.datapath,
    labels: conf.args?.cni?.labels ?? [],
    prevResult: conf.prevResult,
  };
}

/**
 * Parses the configuration. DEL reads only what it needs to reach the agent and does not refuse
 * unknown keys: a DEL that fails on a configuration problem would keep the pod from ever being
 * removed, and the ADD with that configuration did nothing.
 */
export function parsePluginConf(stdin: string, command: Exclude<CniCommand, 'VERSION'>): PluginConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CNI_ERROR.decodeFailure, 'network configuration is not JSON', (e as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError(CNI_ERROR.decodeFailure, 'network configuration is not a JSON object');
  const cniVersion = (raw as { cniVersion?: unknown }).cniVersion;
  // As libcni's version decoder: a configuration without cniVersion is 0.1.0.
  if (cniVersion !== undefined && typeof cniVersion !== 'string') throw new CniError(CNI_ERROR.decodeFailure, 'cniVersion is not a string');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion ?? '0.1.0')) {
    throw new CniError(CNI_ERROR.incompatibleVersion, `incompatible CNI version ${cniVersion ?? '0.1.0 (none given)'}`, `idplane-cni supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (command === 'DEL') {
    const parsed = DelConf.safeParse(raw, { error: localeError });
    if (!parsed.success) throw invalidConf(parsed.error.issues[0]!);
    const { name, 'agent-socket': socket, 'timeout-seconds': timeout } = parsed.data;
    return toPluginConf(cniVersion as CniVersion, { name, 'agent-socket': socket, 'timeout-seconds': timeout });
  }
  const parsed = NetConf.safeParse(raw, { error: localeError });
  if (!parsed.success) throw invalidConf(parsed.error.issues[0]!);
  const unknown = Object.keys(parsed.data).find((k) => !KNOWN_KEYS.has(k));
  if (unknown !== undefined) {
    throw new CniError(CNI_ERROR.unsupportedField, `unsupported field in network configuration: ${unknown}=${JSON.stringify(parsed.data[unknown])}`);
  }
  return toPluginConf(cniVersion as CniVersion, parsed.data);
}

