// The cluster of issue 7's "Measure and report", shared by the engine bench (policy-engine.ts),
// the bench worker's fill and the policy-load section: 1,000 CiliumNetworkPolicies over 100
// namespaces (per namespace a default deny and 9 allow-from-app rules), 16,000 identities
// (160 per namespace: 10 apps × 16 versions) and 100,000 endpoints on 400 nodes of 250 pods each.
// Pure: no Workers or Node APIs.

export const NAMESPACES = 100;
export const APPS = 10;
const VERSIONS = 16;
export const PER_NAMESPACE = APPS * VERSIONS;
export const IDENTITIES = NAMESPACES * PER_NAMESPACE;
export const ENDPOINTS = 100_000;
export const ENDPOINTS_PER_NODE = 250;
const ALLOW_RULES = 9;
/**
 * Endpoint i runs identity (i × SPREAD) mod IDENTITIES (SPREAD is prime to 16,000): a node's 250
 * consecutive endpoints run 250 identities of about 20 namespaces, and each identity's 6–7 pods
 * sit on 6–7 nodes, as the pods of a deployment spread over a cluster.
 */
const SPREAD = 6151;

/** What the bench object reports of its storage: rows of each table holding any, the database's bytes. */
export interface StorageSize {
  rows: Record<string, number>;
  bytes: number;
}

/** A CNP or CCNP as `kubectl apply` sends it, with the path it is put at. */
export interface PolicyManifest {
  /** `namespace/name` for a CNP, `name` for a CCNP (the route's tail). */
  path: string;
  namespace: string | null;
  name: string;
  object: Record<string, unknown>;
}

export const namespaceName = (n: number): string => `ns-${String(n).padStart(2, '0')}`;
const app = (k: number) => ({ matchLabels: { app: `app-${k}` } });

function cnp(namespace: string, name: string, spec: Record<string, unknown>): PolicyManifest {
  return {
    path: `${namespace}/${name}`, namespace, name,
    object: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec },
  };
}

/** Allows `app-to` ← `app-from` in `namespace` on TCP `port`. */
function allowFromApp(namespace: string, name: string, to: number, from: number, port: number): PolicyManifest {
  return cnp(namespace, name, { endpointSelector: app(to), ingress: [{ fromEndpoints: [app(from)], toPorts: [{ ports: [{ port: String(port), protocol: 'TCP' }] }] }] });
}

/** Per namespace: a default deny for every pod, and allow rules `app-k` ← `app-(k+1)` on TCP 8080+k. */
export function clusterPolicies(): PolicyManifest[] {
  const out: PolicyManifest[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    out.push(cnp(namespaceName(n), 'default-deny', { endpointSelector: {}, ingress: [{}] }));
    for (let k = 0; k < ALLOW_RULES; k++) out.push(allowFromApp(namespaceName(n), `allow-app-${k}`, k, k + 1, 8080 + k));
  }
  return out;
}

/** One more allow rule in ns-42: changes the entries of its 16 `app-3` identities (index 42 × 160 + 3 is one). */
export const NAMESPACED_PUT: PolicyManifest = allowFromApp(namespaceName(42), 'allow-extra', 3, 5, 9000);

/** `endpointSelector: {}` cluster-wide: changes the entries of every identity. */
export const CLUSTERWIDE_PUT: PolicyManifest = {
  path: 'allow-health', namespace: null, name: 'allow-health',
  object: { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'allow-health' }, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['health'] }] } },
};

/** Identity `index` (0 … IDENTITIES-1): its namespace and its pods' own labels. */
export function podOf(index: number): { namespace: string; labels: string[] } {
  const j = index % PER_NAMESPACE;
  return { namespace: namespaceName(Math.floor(index / PER_NAMESPACE)), labels: [`k8s:app=app-${j % APPS}`, `k8s:version=v${Math.floor(j / APPS)}`] };
}

/** A pod of a new version of `app-(k mod 10)` in namespace n: a new identity that policies select. */
export function newVersionPod(n: number, k: number): { namespace: string; labels: string[] } {
  return { namespace: namespaceName(n), labels: [`k8s:app=app-${k % APPS}`, `k8s:version=new-${k}`] };
}

/** The identity index of endpoint i. */
export function identityOfEndpoint(i: number): number {
  return (i * SPREAD) % IDENTITIES;
}

export const nodeName = (k: number): string => `fill-${k}`;
export const nodeIpv4 = (k: number): string => `172.16.${k >> 8}.${k & 255}`;
export const nodeOfEndpoint = (i: number): number => Math.floor(i / ENDPOINTS_PER_NODE);

/** The create request of endpoint i (its node is nodeOfEndpoint(i)). */
export function endpointRequest(i: number): { labels: string[]; 'k8s-namespace': string; 'k8s-pod-name': string; addressing: { ipv4: string } } {
  const pod = podOf(identityOfEndpoint(i));
  return {
    labels: [...pod.labels, `k8s:pod-template-hash=h${i}`],
    'k8s-namespace': pod.namespace,
    'k8s-pod-name': `pod-${i}`,
    addressing: { ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
  };
}

/** The number k of a node (`fill-k`) hosting an endpoint of identity `index`. */
export function nodeHosting(index: number): number {
  for (let i = 0; i < ENDPOINTS; i++) if (identityOfEndpoint(i) === index) return nodeOfEndpoint(i);
  throw new Error(`no endpoint runs identity index ${index}`);
}
