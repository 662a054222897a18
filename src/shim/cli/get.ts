// `idplane get endpoints|identities|nodes|clusters`: the tables of `kubectl get ciliumendpoints`
// and `kubectl get ciliumidentities`, kubectl-style tables of nodes and clusters, and their
// -o json / -o yaml forms.
import type { Cluster } from '../../api/clusters.js';
import type { Endpoint } from '../../api/endpoints.js';
import type { Identity } from '../../api/identities.js';
import type { NodeList } from '../../api/nodes.js';
import { formatTable, humanDuration } from './table.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';
export const OUTPUT_FORMATS = ['json', 'yaml', 'wide'] as const;

/** -o json / -o yaml: the whole object; yaml is loaded only when asked for (start-up time). */
export async function renderStructured(value: unknown, format: 'json' | 'yaml'): Promise<string> {
  if (format === 'json') return JSON.stringify(value, null, 2);
  const { stringify } = await import('yaml');
  return stringify(value).trimEnd();
}

export function isStructured(format: OutputFormat): format is 'json' | 'yaml' {
  return format === 'json' || format === 'yaml';
}

// The CiliumEndpoint printer columns named by the project's CLI contract.
const ENDPOINT_COLUMNS = ['NAME', 'ENDPOINT ID', 'IDENTITY ID', 'INGRESS ENFORCEMENT', 'EGRESS ENFORCEMENT', 'VISIBILITY POLICY', 'ENDPOINT STATE', 'IPV4', 'IPV6'];

function endpointName(ep: Endpoint): string {
  return ep['k8s-pod-name'] ?? `${ep.node}-${ep.id}`;
}

/** kubectl sorts names by their bytes, not by locale. */
export const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** kubectl's order: the API server lists by storage key, <namespace>/<name>, in byte order. */
export function sortEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  return [...endpoints].sort((a, b) => byteOrder(a['k8s-namespace'] ?? '', b['k8s-namespace'] ?? '') || byteOrder(endpointName(a), endpointName(b)));
}

/** The table of `kubectl get ciliumendpoints` (-o wide adds the node), in sortEndpoints order. */
export function renderEndpoints(endpoints: Endpoint[], opts: { allNamespaces: boolean; output: 'table' | 'wide' }): string {
  const headers = [...(opts.allNamespaces ? ['NAMESPACE'] : []), ...ENDPOINT_COLUMNS, ...(opts.output === 'wide' ? ['NODE'] : [])];
  const rows = sortEndpoints(endpoints).map((ep) => [
    ...(opts.allNamespaces ? [ep['k8s-namespace'] ?? ''] : []),
    endpointName(ep),
    String(ep.id),
    String(ep.identity.id),
    String(ep['policy-enforcement'].ingress),
    String(ep['policy-enforcement'].egress),
    '',
    ep.state,
    ep.addressing.ipv4 ?? '',
    ep.addressing.ipv6 ?? '',
    ...(opts.output === 'wide' ? [ep.node] : []),
  ]);
  return formatTable(headers, rows);
}

export function renderIdentities(identities: Identity[], opts: { output: 'table' | 'wide'; now: number }): string {
  const wide = opts.output === 'wide';
  const headers = ['NAME', 'NAMESPACE', 'AGE', ...(wide ? ['LABELS'] : [])];
  const rows = identities.map((id) => [
    String(id.id),
    id.namespace ?? '',
    id['created-at'] === null ? '' : humanDuration(opts.now - Date.parse(id['created-at'])),
    ...(wide ? [id.labels.join(',')] : []),
  ]);
  return formatTable(headers, rows);
}

/** Nodes with their lease and how far behind the cluster revision each one's maps are. */
export function renderNodes(list: NodeList, opts: { output: 'table' | 'wide'; now: number }): string {
  const wide = opts.output === 'wide';
  const headers = ['NAME', 'IPV4', 'ENDPOINTS', 'LEASE', 'LAST HEARTBEAT', 'APPLIED REVISION', 'LAG', ...(wide ? ['IPV6', 'AGE'] : [])];
  const ago = (iso: string | null) => (iso === null ? '' : humanDuration(opts.now - Date.parse(iso)));
  const rows = list.nodes.map((n) => [
    n.name,
    n.ipv4 ?? '',
    String(n.endpoints),
    n['lease-expires-at'] === null ? '' : `${n['lease-seconds']}s (expires in ${humanDuration(Date.parse(n['lease-expires-at']) - opts.now)})`,
    ago(n['last-heartbeat']),
    String(n['applied-revision']),
    String(n.lag),
    ...(wide ? [n.ipv6 ?? '', ago(n['created-at'])] : []),
  ]);
  return formatTable(headers, rows);
}

/** Clusters with their Cilium cluster ID (0: not meshed). */
export function renderClusters(clusters: Cluster[], opts: { now: number }): string {
  const rows = clusters.map((c) => [c.name, String(c['cluster-id']), humanDuration(opts.now - Date.parse(c['created-at']))]);
  return formatTable(['NAME', 'CLUSTER ID', 'AGE'], rows);
}
