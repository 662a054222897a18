// The policy rule model: a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy after parsing and
// sanitising (policy/sanitize.ts), before any semantic rewrite. Keys and values are exactly as the
// user wrote them; the semantic layer (namespace scoping, extended label keys, CIDR identities,
// entities) works on this shape. Only idplane's supported subset can be represented: everything
// else is rejected by the sanitiser with `unsupported-policy-field`.
//
// STABLE FORMAT: policies are stored as this model's JSON (alongside the original document), so a
// field renamed here must be migrated in the Durable Object's storage.

export type PolicyKind = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

/** Label-selector operators of the subset (k8s `metav1.LabelSelectorOperator`). */
export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  /** Present for In/NotIn (non-empty), absent for Exists/DoesNotExist. */
  values?: string[];
}

/** A k8s label selector as written; `{}` (no labels, no expressions) is the wildcard. */
export interface EndpointSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

/** Entities of the CRD enum (`pkg/policy/api/entity.go`). */
export const ENTITIES = [
  'all',
  'world',
  'cluster',
  'host',
  'init',
  'ingress',
  'unmanaged',
  'remote-node',
  'health',
  'none',
  'kube-apiserver',
] as const;
export type Entity = (typeof ENTITIES)[number];

export interface CidrRule {
  /** As written: a prefix `a.b.c.d/n` (a CIDRSet needs the length). */
  cidr: string;
  except?: string[];
}

export type PortProtocolName = 'TCP' | 'UDP' | 'SCTP' | 'ANY';

export interface PortProtocol {
  /** Parsed decimal port, 0..65535 (0 = all ports of the protocol). */
  port: number;
  /** Parsed `endPort` when present (Cilium treats endPort <= port as the single port). */
  endPort?: number;
  /** Upper-cased; an omitted protocol is ANY. */
  protocol: PortProtocolName;
}

export interface PortRule {
  /** `ports` as written (absent and `[]` both add no filter: POLICY.md §7.3). */
  ports?: PortProtocol[];
}

/**
 * One ingress/ingressDeny/egress/egressDeny section. Peer lists keep the difference between
 * absent (undefined) and explicitly empty ([]): an explicitly empty list selects nothing
 * (POLICY.md §7.1). Ingress sections fill the `from*` peers, egress sections the `to*` peers; the
 * sanitiser rejects a `to*` field in ingress and vice versa.
 */
export interface PeerRule {
  endpoints?: EndpointSelector[];
  entities?: Entity[];
  /** fromCIDR/toCIDR as written (a bare IP is a host prefix, POLICY.md §9). */
  cidr?: string[];
  cidrSet?: CidrRule[];
  toPorts?: PortRule[];
}

export interface DefaultDeny {
  ingress?: boolean;
  egress?: boolean;
}

export interface Rule {
  endpointSelector: EndpointSelector;
  ingress?: PeerRule[];
  ingressDeny?: PeerRule[];
  egress?: PeerRule[];
  egressDeny?: PeerRule[];
  enableDefaultDeny?: DefaultDeny;
  description?: string;
}

/** A whole policy object: `spec` and `specs` flattened into `rules` (spec first). */
export interface PolicyDocument {
  kind: PolicyKind;
  /** The CNP's namespace; null for a CCNP. */
  namespace: string | null;
  name: string;
  rules: Rule[];
}
