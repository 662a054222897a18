// The label set of an endpoint as Cilium's agent builds it: the client's labels, plus
// `k8s:io.kubernetes.pod.namespace=<ns>` when a namespace is given and, always,
// `k8s:io.cilium.k8s.policy.cluster=<cluster>` (SanitizePodLabels).
import { DomainError } from './errors.js';
import { buildLabelSet, formatLabel, parseClientLabel, type Label, type LabelSet } from './labels.js';

export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POLICY_CLUSTER_LABEL = 'io.cilium.k8s.policy.cluster';
/** Keys the control plane sets itself; a PATCH may not add or delete them. */
const MANAGED_KEYS: ReadonlySet<string> = new Set([POD_NAMESPACE_LABEL, POLICY_CLUSTER_LABEL]);

export interface EndpointLabelInput {
  labels: readonly string[];
  namespace: string | undefined;
  cluster: string;
}

/** Validates the client's labels and adds the managed ones; a conflicting client value is an error. */
export function composeEndpointLabels(input: EndpointLabelInput): Map<string, Label> {
  const all = input.labels.map(parseClientLabel);
  if (input.namespace !== undefined) all.push({ source: 'k8s', key: POD_NAMESPACE_LABEL, value: input.namespace });
  all.push({ source: 'k8s', key: POLICY_CLUSTER_LABEL, value: input.cluster });
  return buildLabelSet(all);
}

/**
 * Applies a label PATCH: deletes first (each must be present, exactly), then adds, replacing a
 * label with the same key as Cilium's OpLabels do. Managed labels cannot be touched.
 */
export function patchEndpointLabels(current: LabelSet, add: readonly string[], del: readonly string[]): Map<string, Label> {
  const next = new Map(current);
  const touch = (l: Label, s: string): Label => {
    if (MANAGED_KEYS.has(l.key)) {
      throw new DomainError('invalid-label', `label ${JSON.stringify(s)}: ${l.key} is managed by the control plane`);
    }
    return l;
  };
  for (const s of del) {
    const l = touch(parseClientLabel(s), s);
    const have = next.get(l.key);
    if (!have || formatLabel(have) !== formatLabel(l)) {
      throw new DomainError('label-not-found', `label ${formatLabel(l)} not found`);
    }
    next.delete(l.key);
  }
  const added = buildLabelSet(add.map((s) => touch(parseClientLabel(s), s)));
  for (const [key, l] of added) next.set(key, l);
  return next;
}
