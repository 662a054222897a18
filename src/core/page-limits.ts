// Page sizes of the list routes: the API's schemas enforce them, and clients (the agent, the CLI)
// ask for full pages without loading the schemas.

export const MAX_PAGE_LIMIT = 10000;

/** The ipcache pages up to 100k entries, so one page (one transaction) is a whole snapshot. */
export const MAX_IPCACHE_PAGE = 100_000;

/** Identities per page of a node's policy snapshot (its pages are bounded by bytes too). */
export const MAX_NODE_POLICY_LIMIT = 1000;
