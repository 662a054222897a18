// The policy engine alone (src/core/policy), on the cluster of issue 7's "Measure and report":
// 1,000 policies over 100 namespaces (per-namespace default deny plus allow-from-app rules) and
// 16,000 identities. Prints the Durable Object's start-up build, one identity added
// incrementally against that full recompute, a namespaced policy put and a cluster-wide
// `endpointSelector: {}` put until every affected identity is recomputed, and the heap it holds.
// `npx tsx bench/policy-engine.ts` (also a section of `npm run bench`).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PolicyEngine, type PolicyTxn } from '../src/core/policy/engine.js';
import type { PolicyDocument, Rule } from '../src/core/policy/rule.js';

const CLUSTER = 'bench';
const NAMESPACES = 100;
const APPS = 10;
const PER_NAMESPACE = 160;
const ALLOW_RULES = 9;
/** Identities per policy-put transaction, as the Durable Object chunks them. */
const CHUNK = 256;
const MiB = 2 ** 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ns = (n: number) => `ns-${String(n).padStart(2, '0')}`;
const app = (k: number) => ({ matchLabels: { app: `app-${k}` } });

function cnp(namespace: string, name: string, rule: Rule): PolicyDocument {
  return { kind: 'CiliumNetworkPolicy', namespace, name, rules: [rule] };
}

/** Per namespace: a default deny for every pod, and allow rules `app-k` ← `app-(k+1)` on TCP 8080+k. */
function clusterPolicies(): PolicyDocument[] {
  const out: PolicyDocument[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    out.push(cnp(ns(n), 'default-deny', { endpointSelector: {}, ingress: [{}] }));
    for (let k = 0; k < ALLOW_RULES; k++) {
      const ports = [{ ports: [{ port: 8080 + k, protocol: 'TCP' as const }] }];
      out.push(cnp(ns(n), `allow-app-${k}`, { endpointSelector: app(k), ingress: [{ endpoints: [app(k + 1)], toPorts: ports }] }));
    }
  }
  return out;
}

function podLabels(n: number, j: number): string[] {
  return [`k8s:app=app-${j % APPS}`, `k8s:version=v${Math.floor(j / APPS)}`, `k8s:io.kubernetes.pod.namespace=${ns(n)}`, `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`];
}

function clusterIdentities(): [number, string[]][] {
  const out: [number, string[]][] = [];
  for (let n = 0; n < NAMESPACES; n++) for (let j = 0; j < PER_NAMESPACE; j++) out.push([256 + n * PER_NAMESPACE + j, podLabels(n, j)]);
  return out;
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
  const policies = clusterPolicies();
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
    adds.push(time(() => engine.transaction((tx) => tx.addIdentity(id, podLabels(50, 1 + PER_NAMESPACE * (i + 1)))))[1]);
  }
  console.log(`  add one identity: ${ms(median(adds))} incremental (median of ${adds.length}) vs ${ms(build)} full recompute`);

  const extra = cnp(ns(42), 'allow-extra', { endpointSelector: app(3), ingress: [{ endpoints: [app(5)], toPorts: [{ ports: [{ port: 9000, protocol: 'TCP' }] }] }] });
  const [put, putTime] = time(() => engine.transaction((tx) => {
    const change = tx.putPolicy(extra);
    tx.regenerate();
    return change;
  }));
  console.log(`  namespaced policy put until every affected entry is recomputed: ${ms(putTime)} (${put.value.stale.length} identities)`);

  const everyone: PolicyDocument = { kind: 'CiliumClusterwideNetworkPolicy', namespace: null, name: 'allow-health', rules: [{ endpointSelector: {}, ingress: [{ entities: ['health'] }] }] };
  const [wide, wideTime] = time(() => engine.transaction((tx) => tx.putPolicy(everyone)));
  const chunks = regenerateInChunks(engine);
  console.log(
    `  CCNP endpointSelector {} put: ${ms(wideTime)}, then ${wide.value.stale.length} identities recomputed in ${chunks.chunks} chunks of ≤ ${CHUNK} (slowest ${ms(chunks.slowest)}, total ${ms(chunks.total)})`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) policyEngineBench();
