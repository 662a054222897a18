// The policy API's answers the CLI reads that src/api has no schema for yet: the selectors view
// (GET /policies/{namespace}/{name}/selectors and /clusterwide-policies/{name}/selectors).
// Everything else comes from the zod schemas in src/api/policies.ts.

/**
 * Each selector of a policy (subjects and peers, by selector key) with the identities the
 * SelectorCache says it selects, at most `limit` of them, and how many in all.
 */
export interface PolicySelectors {
  'policy-revision': number;
  selectors: { selector: string; identities: number[]; count: number }[];
}
