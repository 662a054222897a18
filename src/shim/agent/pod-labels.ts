// Pod labels from the Kubernetes API, as Cilium's RunMetadataResolver fetches them when an
// endpoint is created: containerd does not pass a pod's labels to CNI, so with `--kubeconfig`
// the agent reads the pod (namespace, name from the create) and its labels become the endpoint's
// `k8s:` labels, taking the place of any the create carried under the same key.
import { parseLabel } from '../../core/labels.js';

/** A pod's labels, or an error with the status the local API answers. */
export type PodLabelSource = (namespace: string, pod: string) => Promise<Record<string, string>>;

export class PodLookupError extends Error {
  constructor(
    readonly status: number,
    readonly code: 'pod-not-found' | 'kubernetes-unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** How long one pod lookup may take before the create fails (the CNI plugin retries). */
const LOOKUP_TIMEOUT_MS = 10_000;

/** Reads pods with the credentials of a kubeconfig file (its current context). */
export async function kubernetesPodLabels(kubeconfig: string): Promise<PodLabelSource> {
  // Loaded only when a kubeconfig is given: the client is large.
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api);
  return async (namespace, name) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new PodLookupError(503, 'kubernetes-unavailable', `pod ${namespace}/${name}: no answer from the Kubernetes API within ${LOOKUP_TIMEOUT_MS / 1000} s`)), LOOKUP_TIMEOUT_MS);
    });
    try {
      const pod = await Promise.race([core.readNamespacedPod({ namespace, name }), timeout]);
      return pod.metadata?.labels ?? {};
    } catch (e) {
      if (e instanceof PodLookupError) throw e;
      const code = (e as { code?: unknown }).code;
      if (code === 404) throw new PodLookupError(404, 'pod-not-found', `pod ${namespace}/${name} not found in the Kubernetes API`);
      throw new PodLookupError(503, 'kubernetes-unavailable', `pod ${namespace}/${name}: the Kubernetes API failed: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A label's key, or undefined for text that is no label (the control plane refuses it). */
function keyOf(text: string): string | undefined {
  try {
    return parseLabel(text).key;
  } catch {
    return undefined;
  }
}

/**
 * The create's labels with the pod's: each pod label as `k8s:<key>=<value>`, replacing a label of
 * the create with the same key (a label set is keyed by key); the create's others stay.
 */
export function mergePodLabels(createLabels: readonly string[], podLabels: Record<string, string>): string[] {
  const kept = createLabels.filter((text) => {
    const key = keyOf(text);
    return key === undefined || !Object.hasOwn(podLabels, key);
  });
  return [...kept, ...Object.entries(podLabels).map(([key, value]) => `k8s:${key}=${value}`)];
}
