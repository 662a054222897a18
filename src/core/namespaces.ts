// A namespace's labels as an admin sets them (PUT …/namespaces/{namespace}): Kubernetes label keys
// and values, one normal form (sorted by key), bounded in size because every endpoint of the
// namespace carries them as `k8s:io.cilium.k8s.namespace.labels.<key>=<value>`.
import type { NamespaceLabels } from './endpoint-labels.js';
import { DomainError } from './errors.js';
import { checkLabelKey, checkLabelValue } from './k8s-names.js';

/** The most a namespace's labels may weigh, as stored JSON. */
export const MAX_NAMESPACE_LABEL_BYTES = 8 * 1024;

export function normaliseNamespaceLabels(labels: Readonly<Record<string, string>>): NamespaceLabels {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key]!;
    const problem = checkLabelKey(key) ?? checkLabelValue(value);
    if (problem) throw new DomainError('invalid-label', `labels.${key}: ${problem}`);
    out[key] = value;
  }
  const bytes = JSON.stringify(out).length;
  if (bytes > MAX_NAMESPACE_LABEL_BYTES) {
    throw new DomainError('labels-too-large', `labels: ${bytes} bytes, over the limit of ${MAX_NAMESPACE_LABEL_BYTES} bytes (8 KiB) per namespace`);
  }
  return out;
}
