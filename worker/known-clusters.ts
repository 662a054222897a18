// Clusters this isolate has recently found in the registry, so that a request to a known cluster
// pays no extra round trip. Bounded (oldest entry out first) and short-lived: a cluster deleted
// through another isolate is still refused here, because its own object answers
// `cluster-not-found` once retired; the entry is then forgotten.

export interface KnownClustersOptions {
  maxEntries: number;
  ttlMs: number;
  now: () => number;
}

export class KnownClusters {
  /** Name → expiry time; a Map keeps insertion order, so the first key is the oldest entry. */
  private readonly expiry = new Map<string, number>();

  constructor(private readonly opts: KnownClustersOptions) {}

  has(name: string): boolean {
    const until = this.expiry.get(name);
    if (until === undefined) return false;
    if (until > this.opts.now()) return true;
    this.expiry.delete(name);
    return false;
  }

  remember(name: string): void {
    this.expiry.delete(name);
    if (this.expiry.size >= this.opts.maxEntries) {
      const oldest = this.expiry.keys().next().value;
      if (oldest !== undefined) this.expiry.delete(oldest);
    }
    this.expiry.set(name, this.opts.now() + this.opts.ttlMs);
  }

  forget(name: string): void {
    this.expiry.delete(name);
  }
}
