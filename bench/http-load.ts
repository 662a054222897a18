// Load scenarios against a running control plane with autocannon (a real load generator).
import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export interface LoadTarget {
  url: string;
  token: string;
}

export async function runLoad(name: string, opts: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon(opts);
  return {
    name,
    connections: opts.connections ?? 1,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
  };
}

/** One line of a load's figures. */
export function formatLoad(r: LoadResult): string {
  return `${r.name.padEnd(28)} c=${String(r.connections).padStart(2)}  ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(5)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  errors ${r.errors}`;
}

/** The platform floor: a cheap Durable Object read through the whole worker. */
export function floorLoad(t: LoadTarget, cluster: string, connections: number, seconds: number): Promise<LoadResult> {
  return runLoad('GET /identities/1 (floor)', {
    url: `${t.url}/v1/clusters/${cluster}/identities/1`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${t.token}` },
  });
}

/**
 * Reading the cluster from the registry: one registry round trip through the worker, the cost a
 * request to a cluster would add without the isolate cache of known clusters.
 */
export function registryLoad(t: LoadTarget, cluster: string, connections: number, seconds: number): Promise<LoadResult> {
  return runLoad('GET /clusters/{c} (registry)', {
    url: `${t.url}/v1/clusters/${cluster}`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${t.token}` },
  });
}

/** Reading one endpoint: same response size as a create, no commit. */
export function readLoad(t: LoadTarget, cluster: string, node: string, connections: number, seconds: number): Promise<LoadResult> {
  return runLoad('GET endpoint (read)', {
    url: `${t.url}/v1/clusters/${cluster}/nodes/${node}/endpoints/1`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${t.token}` },
  });
}

/** The labels and namespace of the i-th pod a create load makes. */
export type PodOf = (i: number) => { labels: string[]; namespace: string };

/** 50 label sets in namespace `bench`. */
const benchPods: PodOf = (i) => ({ labels: [`k8s:app=app-${i % 50}`], namespace: 'bench' });

/**
 * Sync endpoint creates, `cilium-local:0`, each with a unique IP and pod-template-hash, over the
 * label sets of `pod` (by default 50, so most creates reuse an identity, as pods of a deployment do).
 */
export function createLoad(t: LoadTarget, cluster: string, nodes: string[], connections: number, seconds: number, seq: { n: number }, pod: PodOf = benchPods): Promise<LoadResult> {
  return runLoad('PUT endpoint (sync create)', {
    url: t.url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'PUT',
        setupRequest: (req) => {
          const i = seq.n++;
          const node = nodes[i % nodes.length]!;
          const { labels, namespace } = pod(i);
          return {
            ...req,
            path: `/v1/clusters/${cluster}/nodes/${node}/endpoints/cilium-local:0`,
            headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              labels: [...labels, `k8s:pod-template-hash=h${i}`],
              'k8s-namespace': namespace,
              'k8s-pod-name': `pod-${i}`,
              addressing: { ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
              'sync-build-endpoint': true,
            }),
          };
        },
      },
    ],
  });
}
