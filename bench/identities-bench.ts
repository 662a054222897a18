// Issue 10's identity budget (`npm run bench -- identities`): new identities per second through
// the real API (`wrangler dev`, 50 clients, every sync create a fresh label set) beside the peer,
// Cilium v1.18's kvstore allocation protocol emulated on a local etcd
// (../shared/peers/cilium-kvstore, its scenario (b): 50 agents allocating new label sets), both
// measured in this run on this machine, one after the other so neither competes with the other.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clusterApi, putCluster } from '../test/e2e/support.js';
import { freePort, startWranglerDev } from '../test/e2e/wrangler-dev.js';
import { createLoad, type LoadResult, type PodOf } from './http-load.js';
import { checkBudget } from './budgets.js';

const CLIENTS = 50;
const NODES = 40;
/** Issue 10: new identities through the API at least this many times the peer's rate. */
const BUDGET = 3;
const PEER = process.env.BENCH_KVSTORE_PEER ?? resolve(import.meta.dirname, '../../shared/peers/cilium-kvstore');

/**
 * A label set no other create used (the app label is unique, so every create allocates), with
 * the namespace's and cluster's labels the same five labels as the peer's label sets.
 */
const freshPod: PodOf = (i) => ({ labels: [`k8s:app=fresh-${i}`, 'k8s:io.cilium.k8s.policy.serviceaccount=default'], namespace: 'bench' });

interface ApiFigures {
  perSecond: number;
  created: number;
  seconds: number;
  load: LoadResult;
  sampleLabels: string[];
}

interface PeerFigures {
  perSecond: number;
  p50: number;
  p99: number;
  lines: string[];
}

interface IdentityPage {
  identities: { labels: string[]; references: number }[];
  'next-cursor'?: string;
}

/** The cluster's allocated identities, each checked to be used by exactly one endpoint (so no create reused one). */
async function allocatedIdentities(api: ReturnType<typeof clusterApi>): Promise<{ count: number; sample: string[] }> {
  let count = 0;
  let sample: string[] = [];
  let cursor: string | undefined;
  do {
    const page = (await api('GET', `/identities?limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)) as IdentityPage;
    for (const identity of page.identities) {
      if (identity.references !== 1) throw new Error(`identity ${identity.labels.join(',')} has ${identity.references} endpoints: a create reused it`);
      sample = identity.labels;
      count++;
    }
    cursor = page['next-cursor'];
  } while (cursor);
  return { count, sample };
}

async function apiIdentities(seconds: number): Promise<ApiFigures> {
  const dev = await startWranglerDev();
  try {
    // A fresh cluster (fresh persist dir): its 65,280 numbers bound the creates of one run. The
    // admin token creates, and the per-node new-identity rate limit does not apply to the admin.
    const cluster = 'default';
    await putCluster(dev, cluster);
    const api = clusterApi(() => dev, cluster);
    await api('PUT', '/namespaces/bench', { labels: { 'kubernetes.io/metadata.name': 'bench' } });
    const nodes = Array.from({ length: NODES }, (_, i) => `node-${i}`);
    for (const [i, node] of nodes.entries()) await api('PUT', `/nodes/${node}`, { ipv4: `192.168.0.${i + 1}` });
    const seq = { n: 0 };
    await createLoad(dev, cluster, nodes, 10, 2, seq, freshPod);
    const before = await allocatedIdentities(api);
    const t0 = performance.now();
    const load = await createLoad(dev, cluster, nodes, CLIENTS, seconds, seq, freshPod);
    const window = (performance.now() - t0) / 1000;
    const after = await allocatedIdentities(api);
    const created = after.count - before.count;
    return { perSecond: created / window, created, seconds: window, load, sampleLabels: after.sample };
  } finally {
    await dev.stop();
  }
}

/** Debian packages that provide etcd and etcdctl here, by `apt-cache policy` (bookworm splits server and client). */
function etcdPackages(): string[] {
  const candidate = (pkg: string) => /Candidate: (?!\(none\))\S+/.test(spawnSync('apt-cache', ['policy', pkg], { encoding: 'utf8' }).stdout ?? '');
  if (candidate('etcd-server') && candidate('etcd-client')) return ['etcd-server', 'etcd-client'];
  return candidate('etcd') ? ['etcd'] : [];
}

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** Installs etcd if missing; why it cannot, or null when etcd and etcdctl are there. */
function ensureEtcd(): string | null {
  if (onPath('etcd') && onPath('etcdctl')) return null;
  if (process.getuid?.() !== 0) return 'etcd is not installed and installing it takes root (apt-get install etcd-server etcd-client)';
  if (!onPath('apt-get')) return 'etcd is not installed and there is no apt-get to install it';
  let packages = etcdPackages();
  if (packages.length === 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    packages = etcdPackages();
  }
  if (packages.length === 0) return 'etcd is not installed and apt has no package for it (apt-cache policy etcd-server etcd)';
  console.log(`installing ${packages.join(' ')} with apt-get (bench only; CI does not run this section)`);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (install.status !== 0) return `apt-get install ${packages.join(' ')} failed: ${(install.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`;
  return onPath('etcd') && onPath('etcdctl') ? null : `apt-get installed ${packages.join(' ')} but etcd or etcdctl is still not on PATH`;
}

/** The peer is read-only where it is shared: a writable copy, without any node_modules of its own. */
function writableCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idplane-kvstore-peer-'));
  cpSync(PEER, dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  for (const entry of ['', ...readdirSync(dir)]) {
    const path = join(dir, entry);
    chmodSync(path, statSync(path).mode | 0o200);
  }
  return dir;
}

/** Runs the peer's scenario (b) as its README says (`run.sh` does `npm ci` and starts etcd on loopback). */
async function peerIdentities(seconds: number): Promise<PeerFigures> {
  const dir = writableCopy();
  try {
    const report = join(dir, 'report.json');
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const run = spawnSync('./run.sh', ['--scenario', 'par'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: (seconds + 300) * 1000,
      env: { ...process.env, DURATION: String(seconds), CLIENTS: String(CLIENTS), ETCD_CLIENT_PORT: String(clientPort), ETCD_PEER_PORT: String(peerPort), REPORT: report },
    });
    const lines = (run.stdout ?? '').trim().split('\n').filter((l) => l.length > 0);
    if (run.status !== 0 || !existsSync(report)) {
      throw new Error(`the kvstore peer failed (exit ${run.status ?? run.signal}):\n${lines.join('\n')}`);
    }
    const [result] = (JSON.parse(readFileSync(report, 'utf8')) as { results: { allocsPerSec: number; latencyMs: { p50: number; p99: number } }[] }).results;
    if (!result) throw new Error(`the kvstore peer's report holds no result:\n${lines.join('\n')}`);
    return { perSecond: result.allocsPerSec, p50: result.latencyMs.p50, p99: result.latencyMs.p99, lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function identitiesBench(seconds: number): Promise<void> {
  const api = await apiIdentities(seconds);
  console.log(
    `new identities through the API (wrangler dev, ${CLIENTS} clients, sync creates, a fresh label set each): ${api.perSecond.toFixed(0)}/s ` +
      `(${api.created} identities in ${api.seconds.toFixed(1)} s, each used by one endpoint); create p50 ${api.load.p50.toFixed(0)} ms, p99 ${api.load.p99.toFixed(0)} ms, errors ${api.load.errors}`,
  );
  console.log(`  labels of one: ${api.sampleLabels.join(' ')}`);
  const missing = ensureEtcd();
  if (missing !== null) {
    console.log(`kvstore peer skipped: ${missing}; the ratio (budget ≥ ${BUDGET} ×) is not measured`);
    return;
  }
  const peer = await peerIdentities(seconds);
  for (const line of peer.lines) console.log(`  peer: ${line}`);
  console.log(`new identities on the kvstore peer (Cilium v1.18's protocol on a local etcd, ${CLIENTS} agents): ${peer.perSecond.toFixed(0)}/s, allocation p50 ${peer.p50.toFixed(0)} ms, p99 ${peer.p99.toFixed(0)} ms`);
  const ratio = api.perSecond / peer.perSecond;
  console.log(checkBudget({
    what: `new identities/s through the API, ${CLIENTS} clients`, measured: `${api.perSecond.toFixed(0)}/s = ${ratio.toFixed(2)} × the peer`, budget: `≥ ${BUDGET} × the kvstore peer`,
    against: `the kvstore peer's ${peer.perSecond.toFixed(0)}/s on etcd`, met: ratio >= BUDGET,
  }));
}
