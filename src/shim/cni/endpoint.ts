// What the plugin asks of the local agent and how it reads the answers: the endpoint reference of
// an attachment, the create request built from the invocation, the pod arguments, prevResult and
// the veth pair, the agent's refusals as CNI errors, and CHECK's comparison. Pure.
import type { EndpointChangeRequest } from '../../api/endpoints.js';
import { formatLabelList, buildLabelSet, parseClientLabel } from '../../core/labels.js';
import { CNI_ERROR, CniError } from './errors.js';
import type { AttachmentLinks } from './links.js';
import type { ContainerAddresses } from './prev-result.js';

/** Cilium's cni-attachment-id of `(CNI_CONTAINERID, CNI_IFNAME)`, the spec's attachment key. */
export function attachmentPath(containerId: string, ifname: string): string {
  return `/v1/endpoint/cni-attachment-id:${containerId}:${encodeURIComponent(ifname)}`;
}

/**
 * `args.cni.labels` as endpoint labels: a Kubernetes pod label is `k8s:key=value`; a key with a
 * source prefix (`container:tier`) keeps its source. Checked as the control plane checks client
 * labels (error 7: they come from the network configuration).
 */
export function endpointLabels(labels: readonly { key: string; value: string }[]): string[] {
  try {
    const parsed = labels.map(({ key, value }) => parseClientLabel(key.includes(':') ? `${key}=${value}` : `k8s:${key}=${value}`));
    return formatLabelList(buildLabelSet(parsed));
  } catch (e) {
    throw new CniError(CNI_ERROR.invalidNetworkConfig, `args.cni.labels: ${(e as Error).message}`);
  }
}

export interface CreateInput {
  containerId: string;
  ifname: string;
  namespace: string;
  podName: string;
  labels: string[];
  addresses: ContainerAddresses;
  links: AttachmentLinks;
  waitForNodes: boolean;
}

export function createRequest(input: CreateInput): EndpointChangeRequest {
  const { addresses, links } = input;
  return {
    addressing: { ...(addresses.ipv4 ? { ipv4: addresses.ipv4.text } : {}), ...(addresses.ipv6 ? { ipv6: addresses.ipv6.text } : {}) },
    labels: input.labels,
    'k8s-namespace': input.namespace,
    'k8s-pod-name': input.podName,
    'container-id': input.containerId,
    'container-interface-name': input.ifname,
    'interface-name': links.hostIfname,
    'interface-index': links.hostIfindex,
    mac: links.containerMac,
    'host-mac': links.hostMac,
    'sync-build-endpoint': true,
    // Sent only when asked for, so that the default request is the plain EndpointChangeRequest.
    ...(input.waitForNodes ? { 'wait-for-nodes': true } : {}),
  };
}

// Refusals caused by the labels of the network configuration.
const LABEL_CODES = new Set(['invalid-label', 'reserved-label', 'managed-label', 'duplicate-label-key', 'labels-too-large']);
// Conditions that clear up: a rate limit, the control plane away, the maps still catching up.
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

/** An agent answer that is not a success, as a CNI error carrying the agent's code and message. */
export function cniErrorFromAgent(what: string, status: number, body: unknown): CniError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http-${status}`;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const text = `${what}: ${code}: ${message}`;
  if (TRANSIENT_STATUSES.has(status)) return new CniError(CNI_ERROR.tryAgainLater, text);
  if (LABEL_CODES.has(code)) return new CniError(CNI_ERROR.invalidNetworkConfig, text);
  return new CniError(CNI_ERROR.agentRefused, text);
}

/** The endpoint fields CHECK compares. */
interface EndpointView {
  state?: string;
  addressing?: { ipv4?: string; ipv6?: string };
  'interface-index'?: number;
  mac?: string;
  'host-mac'?: string;
  /** The agent's read-back of its maps (local API). */
  datapath?: { 'in-sync': boolean; problems: string[] };
}

/**
 * CHECK: the agent's endpoint must be ready and hold prevResult's addresses and the veth pair as
 * it is now (a recreated veth has another index). Error 101 naming the first difference.
 */
export function checkEndpoint(endpoint: unknown, addresses: ContainerAddresses, links: AttachmentLinks): void {
  const ep = (endpoint ?? {}) as EndpointView;
  const fields: [string, unknown, unknown][] = [
    ['addressing.ipv4', ep.addressing?.ipv4, addresses.ipv4?.text],
    ['addressing.ipv6', ep.addressing?.ipv6, addresses.ipv6?.text],
    ['interface-index', ep['interface-index'], links.hostIfindex],
    ['mac', ep.mac?.toLowerCase(), links.containerMac.toLowerCase()],
    ['host-mac', ep['host-mac']?.toLowerCase(), links.hostMac.toLowerCase()],
    ['state', ep.state, 'ready'],
  ];
  for (const [field, have, want] of fields) {
    if (have !== want) throw new CniError(CNI_ERROR.checkFailed, `endpoint ${field} is ${JSON.stringify(have ?? null)}, expected ${JSON.stringify(want ?? null)}`);
  }
  // The agent's read-back of its maps: lxc, ipcache and policy map entries as it wrote them.
  if (ep.datapath?.['in-sync'] !== true) {
    throw new CniError(CNI_ERROR.checkFailed, `the node's maps do not hold the endpoint as written: ${ep.datapath?.problems.join('; ') ?? 'the agent did not check them'}`);
  }
}
