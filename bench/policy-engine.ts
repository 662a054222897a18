// The policy engine alone (src/core/policy), on the cluster of issue 7's "Measure and report":
// 1,000 policies over 100 namespaces (per-namespace default deny plus allow-from-app rules) and
// 16,000 identities. Prints the Durable Object's start-up build, one identity added
// incrementally against that full recompute, a namespaced policy put and a cluster-wide
// `endpointSelector: {}` put until every affected identity is recomputed, and the heap it holds.
// `npx tsx bench/policy-engine.ts` (also a section of `npm run bench`).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PolicyEngine, type PolicyTxn } from '../src/core/policy/engine.js';
import type { PolicyDocument } from '../src/core/policy/rule.js';
import { sanitizePolicy, type PolicyTarget } from '../src/core/policy/sanitize.js';
import { CLUSTERWIDE_PUT, clusterPolicies, IDENTITIES, NAMESPACED_PUT, NAMESPACES, newVersionPod, podOf, type PolicyManifest } from './policy-cluster.js';

const CLUSTER = 'bench';
/** Identities per policy-put transaction, as the Durable Object chunks them. */
const CHUNK = 256;
const MiB = 2 ** 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The rules the object would store for this manifest (the route's sanitiser). */
function documentOf(m: PolicyManifest): PolicyDocument {
  const target = (m.namespace === null
    ? { kind: 'CiliumClusterwideNetworkPolicy', namespace: null, name: m.name }
    : { kind: 'CiliumNetworkPolicy', namespace: m.namespace, name: m.name }) as PolicyTarget;
  return sanitizePolicy(m.object, target).policy;
}

/** An identity's labels as the object stores them: the pod's, its namespace and the cluster. */
function identityLabels(pod: { namespace: string; labels: string[] }): string[] {
  return [...pod.labels, `k8s:io.kubernetes.pod.namespace=${pod.namespace}`, `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`];
}

function clusterIdentities(): [number, string[]][] {
  return Array.from({ length: IDENTITIES }, (_, i) => [256 + i, identityLabels(podOf(i))]);
}

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const value = fn();
  return [value, performance.now() - t0];
}

/** Wall and CPU time (this process, all threads): on a busy machine the second is the steadier. */
function timeWithCpu<T>(fn: () => T): [T, number, number] {
  const c0 = process.cpuUsage();
  const [value, wall] = time(fn);
  const c = process.cpuUsage(c0);
  return [value, wall, (c.user + c.system) / 1000];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Regenerates the stale identities in chunks as the Durable Object does; the slowest chunk and the total. */
function regenerateInChunks(engine: PolicyEngine): { chunks: number; slowest: number; total: number } {
  let slowest = 0;
  let total = 0;
  let chunks = 0;
  const stale = engine.stale();
  for (let i = 0; i < stale.length; i += CHUNK) {
    const [, t] = time(() => engine.transaction((tx) => tx.regenerate(stale.slice(i, i + CHUNK))));
    slowest = Math.max(slowest, t);
    total += t;
    chunks++;
  }
  return { chunks, slowest, total };
}

function buildInOneTransaction(policies: PolicyDocument[], identities: [number, string[]][]): { engine: PolicyEngine; phases: number[] } {
  const engine = new PolicyEngine({ clusterName: CLUSTER });
  const phases: number[] = [];
  engine.transaction((tx: PolicyTxn) => {
    phases.push(time(() => policies.forEach((p) => tx.putPolicy(p)))[1]);
    phases.push(time(() => identities.forEach(([id, labels]) => tx.addIdentity(id, labels)))[1]);
    phases.push(time(() => tx.regenerate())[1]);
  });
  return { engine, phases };
}

export function policyEngineBench(): void {
  const policies = clusterPolicies().map(documentOf);
  const identities = clusterIdentities();
  const heapBefore = heapUsed();
  console.log(`policy engine: ${policies.length} policies over ${NAMESPACES} namespaces, ${identities.length} identities`);

  // First, in a process that has run no engine code yet: the Durable Object's start-up.
  const [engine, build, buildCpu] = timeWithCpu(() => PolicyEngine.load({ clusterName: CLUSTER }, policies, identities));
  const heapAfter = heapUsed();
  console.log(`  PolicyEngine.load (start-up from storage, cold): ${ms(build)} (CPU ${ms(buildCpu)})`);
  const [{ phases }, built, builtCpu] = timeWithCpu(() => buildInOneTransaction(policies, identities));
  console.log(
    `  the same in one transaction (policies ${ms(phases[0]!)}, then identities ${ms(phases[1]!)}, then regenerate ${ms(phases[2]!)}): ${ms(built)} (CPU ${ms(builtCpu)})`,
  );
  console.log(`  heap used: ${((heapAfter - heapBefore) / MiB).toFixed(1)} MiB for the engine (${(heapAfter / MiB).toFixed(1)} MiB in all)`);

  // One identity in a namespace, selected by one allow rule's subject and another's peer selector.
  const adds: number[] = [];
  for (let i = 0; i < 21; i++) {
    const id = 100_000 + i;
    adds.push(time(() => engine.transaction((tx) => tx.addIdentity(id, identityLabels(newVersionPod(50, i)))))[1]);
  }
  console.log(`  add one identity: ${ms(median(adds))} incremental (median of ${adds.length}) vs ${ms(build)} full recompute`);

  const extra = documentOf(NAMESPACED_PUT);
  const [put, putTime] = time(() => engine.transaction((tx) => {
    const change = tx.putPolicy(extra);
    tx.regenerate();
    return change;
  }));
  console.log(`  namespaced policy put until every affected entry is recomputed: ${ms(putTime)} (${put.value.stale.length} identities)`);

  const everyone = documentOf(CLUSTERWIDE_PUT);
  const [wide, wideTime] = time(() => engine.transaction((tx) => tx.putPolicy(everyone)));
  const chunks = regenerateInChunks(engine);
  console.log(
    `  CCNP endpointSelector {} put: ${ms(wideTime)}, then ${wide.value.stale.length} identities recomputed in ${chunks.chunks} chunks of ≤ ${CHUNK} (slowest ${ms(chunks.slowest)}, total ${ms(chunks.total)})`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) policyEngineBench();
