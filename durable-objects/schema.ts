// SQLite schemas of the Durable Objects: ordered migrations, applied once each in the
// constructor. STABLE FORMAT: rows outlive deployments; add a migration, never edit one.

/** The cluster's Durable Object (ClusterDO). */
export const CLUSTER_MIGRATIONS: readonly string[] = [
  // 1: identities, endpoints, nodes and the ipcache.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    ipv4 TEXT,
    ipv6 TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE identities (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,          -- SHA-256 of the canonical label list: the allocation key
    labels TEXT NOT NULL,                 -- JSON array of Label.String(), sorted by key
    namespace TEXT,
    refcount INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    released_at INTEGER                   -- when refcount reached 0: a GC candidate since then
  );
  CREATE INDEX identities_released ON identities (released_at) WHERE released_at IS NOT NULL;
  CREATE TABLE identity_quarantine (id INTEGER PRIMARY KEY, freed_at INTEGER NOT NULL);
  CREATE TABLE endpoints (
    node TEXT NOT NULL,
    id INTEGER NOT NULL,
    attachment_id TEXT,                   -- Cilium's cni-attachment-id: <container-id>[:<ifname>]
    container_id TEXT,
    container_ifname TEXT,
    k8s_namespace TEXT,
    k8s_pod_name TEXT,
    interface_name TEXT,
    interface_index INTEGER,
    mac TEXT,
    host_mac TEXT,
    state TEXT NOT NULL,
    ipv4 TEXT,
    ipv6 TEXT,
    identity INTEGER NOT NULL,
    labels TEXT NOT NULL,                 -- JSON array of every label, sorted by key
    information_labels TEXT NOT NULL,     -- JSON array: the labels the filter left out
    create_fingerprint TEXT NOT NULL,     -- SHA-256 of the normalised create request (CNI ADD retries)
    policy_revision INTEGER NOT NULL,
    regenerations INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (node, id)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX endpoints_attachment ON endpoints (node, attachment_id) WHERE attachment_id IS NOT NULL;
  CREATE INDEX endpoints_container ON endpoints (node, container_id) WHERE container_id IS NOT NULL;
  CREATE INDEX endpoints_pod ON endpoints (k8s_namespace, k8s_pod_name);
  CREATE INDEX endpoints_identity ON endpoints (identity);
  CREATE TABLE ipcache (
    prefix TEXT PRIMARY KEY,
    identity INTEGER NOT NULL,
    node TEXT NOT NULL,
    endpoint INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX ipcache_endpoint ON ipcache (node, endpoint);
  `,
  // 2: the change feed, node tokens and leases.
  `
  CREATE TABLE feed (
    revision INTEGER PRIMARY KEY,
    events TEXT NOT NULL,                 -- JSON array of FeedEvent (src/core/feed.ts)
    committed_at INTEGER NOT NULL
  );
  ALTER TABLE nodes ADD COLUMN token_hash TEXT;               -- SHA-256 of the node token
  ALTER TABLE nodes ADD COLUMN lease_seconds INTEGER NOT NULL DEFAULT 0;  -- 0: no lease, never expires
  ALTER TABLE nodes ADD COLUMN lease_expires_at INTEGER;
  ALTER TABLE nodes ADD COLUMN last_heartbeat INTEGER;
  ALTER TABLE nodes ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX nodes_lease ON nodes (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
  `,
  // 3: node removal in batches (DELETE or lease expiry): set while the node's endpoints go.
  `
  ALTER TABLE nodes ADD COLUMN deleting_since INTEGER;
  CREATE INDEX nodes_deleting ON nodes (deleting_since) WHERE deleting_since IS NOT NULL;
  `,
  // 4: node isolation: per-node identity allocation budget, node addresses looked up by value,
  // namespaces with their labels and the relabel of their endpoints in batches.
  `
  ALTER TABLE nodes ADD COLUMN identity_tokens REAL;          -- token bucket of new identities; NULL: full
  ALTER TABLE nodes ADD COLUMN identity_tokens_at INTEGER;    -- when identity_tokens was computed
  CREATE INDEX nodes_ipv4 ON nodes (ipv4) WHERE ipv4 IS NOT NULL;
  CREATE INDEX nodes_ipv6 ON nodes (ipv6) WHERE ipv6 IS NOT NULL;
  CREATE TABLE namespaces (
    name TEXT PRIMARY KEY,
    labels TEXT NOT NULL,                 -- JSON object {key: value}, keys sorted
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE namespace_relabels (
    namespace TEXT PRIMARY KEY,           -- its endpoints are moving to its current labels
    after_node TEXT NOT NULL,             -- endpoints up to (after_node, after_id) are done
    after_id INTEGER NOT NULL
  );
  CREATE INDEX endpoints_namespace ON endpoints (k8s_namespace, node, id) WHERE k8s_namespace IS NOT NULL;
  `,
  // 5: a revision may span several feed rows (chunks of ≤ 1 MiB), and events may target nodes.
  `
  CREATE TABLE feed_chunks (
    revision INTEGER NOT NULL,
    chunk INTEGER NOT NULL,               -- 0-based index within the revision
    last INTEGER NOT NULL,                -- 1 on the revision's last chunk
    events TEXT NOT NULL,                 -- JSON array of FeedEvent (src/core/feed.ts)
    targets TEXT,                         -- JSON FeedTargets: events only some nodes receive; NULL: none
    committed_at INTEGER NOT NULL,
    PRIMARY KEY (revision, chunk)
  ) WITHOUT ROWID;
  INSERT INTO feed_chunks (revision, chunk, last, events, targets, committed_at)
    SELECT revision, 0, 1, events, NULL, committed_at FROM feed;
  DROP TABLE feed;
  ALTER TABLE feed_chunks RENAME TO feed;
  `,
  // 6: network policies, per-identity policy revisions and the CIDR identities policies name.
  `
  CREATE TABLE policies (
    ref TEXT PRIMARY KEY,                 -- namespace/name (CNP) or name (CCNP), as entries name it
    kind TEXT NOT NULL,
    namespace TEXT,
    name TEXT NOT NULL,
    object TEXT NOT NULL,                 -- PolicyObject JSON (src/api/policies.ts)
    rules TEXT NOT NULL,                  -- PolicyDocument JSON (src/core/policy/rule.ts)
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX policies_namespace ON policies (kind, namespace, name);
  ALTER TABLE identities ADD COLUMN policy_revision INTEGER NOT NULL DEFAULT 1;  -- computed at
  ALTER TABLE identities ADD COLUMN policy_stale INTEGER NOT NULL DEFAULT 0;     -- 1 while a recompute is due
  CREATE INDEX identities_policy_stale ON identities (id) WHERE policy_stale = 1;
  CREATE TABLE cidr_identities (
    prefix TEXT PRIMARY KEY,
    id INTEGER UNIQUE NOT NULL            -- local scope: 1<<24 | n
  ) WITHOUT ROWID;
  `,
  // 7: the cluster revision is the feed's latest revision (FeedStore.latestRevision), not a meta
  // row rewritten by every mutation.
  `
  DELETE FROM meta WHERE key = 'revision';
  `,
];

/** The cluster registry (RegistryDO): one row per cluster. */
export const REGISTRY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE clusters (
    name TEXT PRIMARY KEY,
    cluster_id INTEGER NOT NULL,          -- Cilium cluster ID, 0..255; 0 (not meshed) may repeat
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX clusters_meshed_id ON clusters (cluster_id) WHERE cluster_id > 0;
  `,
];

/** Applies the migrations the database has not seen yet, each in its own transaction. */
export function migrate(storage: DurableObjectStorage, migrations: readonly string[]): void {
  const sql = storage.sql;
  sql.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = sql.exec<{ version: number }>('SELECT version FROM schema_version').toArray()[0];
  let version = row?.version ?? 0;
  if (!row) sql.exec('INSERT INTO schema_version (version) VALUES (0)');
  while (version < migrations.length) {
    const next = version + 1;
    storage.transactionSync(() => {
      sql.exec(migrations[version]!);
      sql.exec('UPDATE schema_version SET version = ?', next);
    });
    version = next;
  }
}
