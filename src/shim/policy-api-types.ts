// The policy API's answers as the CLI reads them (POLICY-INTEGRATION.md, "HTTP API"): client-side
// shapes only; the server's zod schemas are the source of truth.

export type PolicyKindName = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

/** STABLE FORMAT: a stored CNP/CCNP as the API returns it. */
export interface PolicyObject {
  apiVersion: string;
  kind: PolicyKindName;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp: string;
    generation: number;
    resourceVersion: string;
  };
  spec?: unknown;
  specs?: unknown[];
}

export interface PolicyAnswer {
  policy: PolicyObject;
  'policy-revision': number;
  revision?: number;
}

export interface PolicyList {
  items: PolicyObject[];
  'policy-revision': number;
  'next-cursor'?: string;
}

export interface PolicyMapEntry {
  key: string;
  value: string;
  identity: number;
  direction: 'ingress' | 'egress';
  protocol: number;
  port: number;
  'end-port'?: number;
  'prefix-length': number;
  verdict: 'allow' | 'deny';
  policies: string[];
}

/** GET /identities/{id}/policy and /nodes/{node}/endpoints/{ref}/policy. */
export interface ComputedPolicy {
  'policy-revision': number;
  'ingress-enforced': boolean;
  'egress-enforced': boolean;
  entries: PolicyMapEntry[];
}

export type TracePeer = { identity: number } | { labels: string[] } | { endpoint: { node: string; ref: string } };

export interface TraceRequest {
  from: TracePeer;
  to: TracePeer;
  protocol: string | number;
  port: number;
}

export interface TraceSideAnswer {
  verdict: 'allow' | 'deny';
  /** The entry that decided (the API's kebab-case form of the engine's entry); null: none. */
  entry: Omit<PolicyMapEntry, 'key' | 'value'> | null;
  policies: string[];
}

export interface TraceAnswer {
  verdict: 'allow' | 'deny';
  /** The source and destination identities (labels traced as the identity they would get). */
  from?: number;
  to?: number;
  egress: TraceSideAnswer;
  ingress: TraceSideAnswer;
}

/**
 * GET /policies/{namespace}/{name}/selectors and /clusterwide-policies/{name}/selectors (proposed
 * for the policy API): each selector of the policy (subjects and peers, by selector key) with the
 * identities the SelectorCache says it selects, at most `limit` of them, and how many in all.
 */
export interface PolicySelectors {
  'policy-revision': number;
  selectors: { selector: string; identities: number[]; count: number }[];
}
