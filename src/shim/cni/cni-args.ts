// CNI_ARGS as libcni's types.LoadArgs reads them: `K=V` pairs separated by `;`, every pair exactly
// one `=`, unknown keys an error unless `IgnoreUnknown` is true. The Kubernetes keys are the ones
// containerd and CRI-O send for a pod sandbox. Pure.
import { isValidContainerId } from '../../core/endpoint-ref.js';
import { isDns1123Label, isDns1123Subdomain } from '../../core/k8s-names.js';
import { CNI_ERROR, CniError } from './errors.js';

export interface PodArgs {
  namespace: string | undefined;
  podName: string | undefined;
  infraContainerId: string | undefined;
}

const KNOWN_KEYS = new Set(['IgnoreUnknown', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID']);

function invalid(why: string): CniError {
  return new CniError(CNI_ERROR.invalidEnvironment, `CNI_ARGS: ${why}`);
}

/** Go's UnmarshallableBool: 1/true and 0/false, any case. */
function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw invalid(`${key}=${value}: not a boolean`);
}

/** The pairs of CNI_ARGS, by key (a repeated key keeps its last value, as LoadArgs does). */
export function parseCniArgPairs(text: string | undefined): Map<string, string> {
  const pairs = new Map<string, string>();
  if (text === undefined || text === '') return pairs;
  for (const pair of text.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2) throw invalid(`invalid pair ${JSON.stringify(pair)}`);
    pairs.set(kv[0]!, kv[1]!);
  }
  return pairs;
}

/** The pod's arguments; unknown keys are refused unless IgnoreUnknown is set. Values are checked. */
export function parsePodArgs(text: string | undefined): PodArgs {
  const pairs = parseCniArgPairs(text);
  const ignoreUnknown = pairs.has('IgnoreUnknown') && parseBool('IgnoreUnknown', pairs.get('IgnoreUnknown')!);
  const unknown = [...pairs.keys()].filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0 && !ignoreUnknown) throw invalid(`unknown args ${unknown.join(', ')} (set IgnoreUnknown=1 to allow them)`);
  const namespace = pairs.get('K8S_POD_NAMESPACE');
  if (namespace !== undefined && !isDns1123Label(namespace)) throw invalid(`K8S_POD_NAMESPACE=${namespace}: not a DNS-1123 label`);
  const podName = pairs.get('K8S_POD_NAME');
  if (podName !== undefined && !isDns1123Subdomain(podName)) throw invalid(`K8S_POD_NAME=${podName}: not a DNS-1123 subdomain`);
  const infraContainerId = pairs.get('K8S_POD_INFRA_CONTAINER_ID');
  if (infraContainerId !== undefined && !isValidContainerId(infraContainerId)) {
    throw invalid(`K8S_POD_INFRA_CONTAINER_ID=${infraContainerId}: not a container ID`);
  }
  return { namespace, podName, infraContainerId };
}

/**
 * What ADD needs of a pod: its namespace and name (the endpoint's k8s-namespace and k8s-pod-name),
 * and an infra container ID, when given, equal to CNI_CONTAINERID: containerd and CRI-O attach the
 * pod sandbox, so both name the same container, and the attachment is keyed by CNI_CONTAINERID.
 */
export function requirePod(args: PodArgs, containerId: string): { namespace: string; podName: string } {
  const missing = [args.namespace === undefined && 'K8S_POD_NAMESPACE', args.podName === undefined && 'K8S_POD_NAME'].filter(Boolean);
  if (missing.length > 0) throw invalid(`${missing.join(' and ')} missing: idplane-cni attaches Kubernetes pods`);
  if (args.infraContainerId !== undefined && args.infraContainerId !== containerId) {
    throw invalid(`K8S_POD_INFRA_CONTAINER_ID=${args.infraContainerId} differs from CNI_CONTAINERID=${containerId}`);
  }
  return { namespace: args.namespace!, podName: args.podName! };
}
