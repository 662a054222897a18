// Builders for policy engine tests: documents, a small cluster of identities, and policy map
// bytes written out independently of src/datapath/layout (LE prefix/identity, BE port).
import { PolicyEngine } from '../../../../src/core/policy/engine.js';
import type { PeerRule, PolicyDocument, Rule } from '../../../../src/core/policy/rule.js';
import { encodeIdentityPolicy } from '../../../../src/datapath/layout/policy.js';

export const CLUSTER = 'c1';

export function cnp(namespace: string, name: string, ...rules: Rule[]): PolicyDocument {
  return { kind: 'CiliumNetworkPolicy', namespace, name, rules };
}

export function ccnp(name: string, ...rules: Rule[]): PolicyDocument {
  return { kind: 'CiliumClusterwideNetworkPolicy', namespace: null, name, rules };
}

export const tcp = (port: number, endPort?: number) => ({ ports: [{ port, protocol: 'TCP' as const, ...(endPort !== undefined ? { endPort } : {}) }] });

export function pod(namespace: string, ...labels: string[]): string[] {
  return [...labels, `k8s:io.kubernetes.pod.namespace=${namespace}`, `k8s:io.cilium.k8s.policy.cluster=${CLUSTER}`];
}

/** The identities most cases use. */
export const IDS: Record<number, string[]> = {
  1000: pod('default', 'k8s:app=client'),
  1001: pod('default', 'k8s:app=server'),
  1002: pod('other', 'k8s:app=client'),
  1003: pod('default', 'container:app=client'),
  1004: pod('other', 'k8s:app=db', 'k8s:io.cilium.k8s.namespace.labels.team=a'),
  16777217: ['cidr:10.0.0.0/8', 'reserved:world'],
  16777218: ['cidr:10.1.0.0/16', 'reserved:world'],
  16777219: ['cidr:10.1.2.3/32', 'reserved:world'],
};

export function engineWith(policies: PolicyDocument[], identities: Record<number, string[]> = IDS): PolicyEngine {
  const engine = new PolicyEngine({ clusterName: CLUSTER });
  engine.transaction((tx) => {
    for (const [id, labels] of Object.entries(identities)) tx.addIdentity(Number(id), labels);
    for (const p of policies) tx.putPolicy(p);
    tx.regenerate();
  });
  return engine;
}

const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');

/** `key/value` hex of an entry: P is the LPM length (0, 8, 8 + port bits). */
export function entry(identity: number, dir: 'in' | 'eg', proto: number, port: number, p: number, verdict: 'allow' | 'deny'): string {
  const key = hex([...le32(40 + p), ...le32(identity), dir === 'eg' ? 1 : 0, proto, port >> 8, port & 0xff]);
  const value = hex([0, 0, (p << 3) | (verdict === 'deny' ? 1 : 0), 0, 0, 0, 0, 0]);
  return `${key}/${value}`;
}

/** The three entries of an identity no rule selects in a direction, as bytes. */
export const ALLOW_ALL_IN = entry(0, 'in', 0, 0, 0, 'allow');
export const ALLOW_ALL_EG = entry(0, 'eg', 0, 0, 0, 'allow');
export const LOCALHOST = entry(1, 'in', 0, 0, 0, 'allow');

export function mapBytes(engine: PolicyEngine, id: number): { ingressEnforced: boolean; egressEnforced: boolean; entries: string[] } {
  const p = engine.policyOf(id);
  if (!p) throw new Error(`no policy for ${id}`);
  const enc = encodeIdentityPolicy(p);
  return { ingressEnforced: enc.ingressEnforced, egressEnforced: enc.egressEnforced, entries: enc.entries.map((e) => `${e.key}/${e.value}`) };
}

export function sortedEntries(...entries: string[]): string[] {
  return [...entries].sort();
}

export type { PeerRule };
