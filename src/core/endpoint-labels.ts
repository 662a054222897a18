// The label set of an endpoint as Cilium's agent builds it: the client's labels, plus
// `k8s:io.kubernetes.pod.namespace=<ns>` when a namespace is given, always
// `k8s:io.cilium.k8s.policy.cluster=<cluster>` (SanitizePodLabels), and one
// `k8s:io.cilium.k8s.namespace.labels.<key>=<value>` per label of the pod's namespace
// (GetPodMetadata). Those keys are the control plane's: a client that could set them could join
// another namespace's identity and escape a policy's namespace scoping.
import { DomainError } from './errors.js';
import { buildLabelSet, formatLabel, formatLabelList, parseClientLabel, type Label, type LabelSet } from './labels.js';

export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POLICY_CLUSTER_LABEL = 'io.cilium.k8s.policy.cluster';
/** Cilium's PodNamespaceMetaLabels: a namespace label `k` becomes `<prefix>.k` on its pods. */
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels';
/** The most an endpoint's own labels (all but its namespace's) may weigh, as stored JSON. */
export const MAX_ENDPOINT_LABEL_BYTES = 32 * 1024;

export interface EndpointLabelInput {
  labels: readonly string[];
  namespace: string | undefined;
  cluster: string;
}

/** Namespace labels `{key: value}`, as a namespace resource holds them. */
export type NamespaceLabels = Readonly<Record<string, string>>;

const isNamespaceLabelKey = (key: string) => key.startsWith(NAMESPACE_LABELS_PREFIX);

/** Where a managed key comes from, or undefined for a key a client may set. */
function managedKeySource(key: string): string | undefined {
  if (key === POD_NAMESPACE_LABEL) return 'it comes from k8s-namespace';
  if (key === POLICY_CLUSTER_LABEL) return 'it is the cluster name';
  if (isNamespaceLabelKey(key)) return "it comes from the namespace's labels (PUT …/namespaces/{namespace})";
  return undefined;
}

/** A client label for an endpoint: valid, and none of the keys the control plane sets (any source). */
function parseEndpointLabel(s: string): Label {
  const label = parseClientLabel(s);
  const source = managedKeySource(label.key);
  if (source) throw new DomainError('managed-label', `label ${JSON.stringify(s)}: ${label.key} is set by the control plane: ${source}`);
  return label;
}

/** Refuses a label set over MAX_ENDPOINT_LABEL_BYTES, its namespace's labels not counted. */
function checkLabelSetSize(set: LabelSet): void {
  const own = new Map([...set].filter(([key]) => !isNamespaceLabelKey(key)));
  const bytes = JSON.stringify(formatLabelList(own)).length;
  if (bytes > MAX_ENDPOINT_LABEL_BYTES) {
    throw new DomainError('labels-too-large', `labels: ${bytes} bytes, over the limit of ${MAX_ENDPOINT_LABEL_BYTES} bytes (32 KiB) per endpoint`);
  }
}

/** Validates the client's labels and adds the pod-namespace and cluster labels. */
export function composeEndpointLabels(input: EndpointLabelInput): Map<string, Label> {
  const all = input.labels.map(parseEndpointLabel);
  if (input.namespace !== undefined) all.push({ source: 'k8s', key: POD_NAMESPACE_LABEL, value: input.namespace });
  all.push({ source: 'k8s', key: POLICY_CLUSTER_LABEL, value: input.cluster });
  const set = buildLabelSet(all);
  checkLabelSetSize(set);
  return set;
}

/**
 * Labels a policy trace names, completed as an endpoint carrying them has them: the cluster's
 * label and, with a pod-namespace label, that namespace's labels, each unless given.
 */
export function completeTraceLabels(labels: readonly Label[], cluster: string, namespaceLabels: (namespace: string) => NamespaceLabels | null): LabelSet {
  const set = buildLabelSet(labels);
  if (!set.has(POLICY_CLUSTER_LABEL)) set.set(POLICY_CLUSTER_LABEL, { source: 'k8s', key: POLICY_CLUSTER_LABEL, value: cluster });
  const namespace = set.get(POD_NAMESPACE_LABEL)?.value;
  if (namespace === undefined || [...set.keys()].some(isNamespaceLabelKey)) return set;
  return withNamespaceLabels(set, namespaceLabels(namespace));
}

/** The set with its namespace labels replaced by those given (none when null). */
export function withNamespaceLabels(set: LabelSet, namespaceLabels: NamespaceLabels | null): Map<string, Label> {
  const next = new Map([...set].filter(([key]) => !isNamespaceLabelKey(key)));
  for (const [k, value] of Object.entries(namespaceLabels ?? {})) {
    const key = `${NAMESPACE_LABELS_PREFIX}.${k}`;
    next.set(key, { source: 'k8s', key, value });
  }
  return next;
}

/**
 * Applies a label PATCH: deletes first (each must be present, exactly), then adds, replacing a
 * label with the same key as Cilium's OpLabels do. Managed labels cannot be touched.
 */
export function patchEndpointLabels(current: LabelSet, add: readonly string[], del: readonly string[]): Map<string, Label> {
  const next = new Map(current);
  for (const s of del) {
    const l = parseEndpointLabel(s);
    const have = next.get(l.key);
    if (!have || formatLabel(have) !== formatLabel(l)) {
      throw new DomainError('label-not-found', `label ${formatLabel(l)} not found`);
    }
    next.delete(l.key);
  }
  const added = buildLabelSet(add.map(parseEndpointLabel));
  for (const [key, l] of added) next.set(key, l);
  checkLabelSetSize(next);
  return next;
}
