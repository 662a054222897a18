// `idplane apply` planning: where each object of a file goes, and what a PUT did.
import { describe, expect, it } from 'vitest';
import { splitPolicyDocuments } from '../../../src/core/policy/parse.js';
import { applyOutcome, planApply, resourceName } from '../../../src/shim/cli/apply.js';
import type { PolicyObject } from '../../../src/api/policies.js';

const FILE = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-ns}
spec: {endpointSelector: {}}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: in-prod, namespace: prod}
spec: {endpointSelector: {}}
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: cluster-wide, namespace: ignored}
spec: {endpointSelector: {}}
`;

describe('planApply', () => {
  it.each([
    {
      flag: undefined,
      want: ['CiliumNetworkPolicy default/no-ns', 'CiliumNetworkPolicy prod/in-prod', 'CiliumClusterwideNetworkPolicy -/cluster-wide'],
    },
    {
      flag: 'prod',
      want: ['CiliumNetworkPolicy prod/no-ns', 'CiliumNetworkPolicy prod/in-prod', 'CiliumClusterwideNetworkPolicy -/cluster-wide'],
    },
    {
      flag: 'dev',
      want: [
        'CiliumNetworkPolicy dev/no-ns',
        'refused: the namespace from the provided object "prod" does not match the namespace "dev". You must pass \'--namespace=prod\' to perform this operation.',
        'CiliumClusterwideNetworkPolicy -/cluster-wide',
      ],
    },
  ])('-n $flag', ({ flag, want }) => {
    const plan = planApply(splitPolicyDocuments(FILE), flag);
    expect(plan.map((t) => ('refusal' in t ? `refused: ${t.refusal}` : `${t.ref.kind} ${t.ref.namespace ?? '-'}/${t.ref.name}`))).toEqual(want);
  });

  it('sends each object as written', () => {
    const [first] = planApply(splitPolicyDocuments(FILE), undefined);
    expect(first && 'document' in first && first.document).toEqual({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'no-ns' }, spec: { endpointSelector: {} } });
  });
});

describe('applyOutcome', () => {
  const at = (generation: number): PolicyObject => ({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: '2026-11-29T12:00:00Z', generation, resourceVersion: String(generation + 1) },
  });
  it.each([
    [null, 1, 'created'],
    [1, 1, 'unchanged'],
    [1, 2, 'configured'],
  ] as const)('before generation %s, after %s → %s', (before, after, want) => {
    expect(applyOutcome(before === null ? null : at(before), at(after))).toBe(want);
  });
});

describe('resourceName', () => {
  it.each([
    [{ kind: 'CiliumNetworkPolicy', namespace: 'default', name: 'web' }, 'ciliumnetworkpolicy.cilium.io/web'],
    [{ kind: 'CiliumClusterwideNetworkPolicy', name: 'all' }, 'ciliumclusterwidenetworkpolicy.cilium.io/all'],
  ] as const)('%o → %s', (ref, want) => {
    expect(resourceName(ref)).toBe(want);
  });
});
