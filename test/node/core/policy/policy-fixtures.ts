// Builders for policy objects as kubectl would send them, shared by the sanitiser tests.
import type { PolicyTarget } from '../../../../src/core/policy/sanitize.js';

export const CNP_TARGET: Extract<PolicyTarget, { kind: 'CiliumNetworkPolicy' }> = { kind: 'CiliumNetworkPolicy', namespace: 'team-a', name: 'web' };
export const CCNP_TARGET: Extract<PolicyTarget, { kind: 'CiliumClusterwideNetworkPolicy' }> = {
  kind: 'CiliumClusterwideNetworkPolicy',
  namespace: null,
  name: 'global',
};

/** A CNP named `web` in `team-a` with the given top-level fields (spec, specs, metadata, …). */
export function cnp(fields: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'team-a' }, ...fields };
}

export function ccnp(fields: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'global' }, ...fields };
}

/** A CNP whose only rule selects every pod of the namespace and has this one ingress section. */
export function ingressOnly(section: Record<string, unknown>): Record<string, unknown> {
  return cnp({ spec: { endpointSelector: {}, ingress: [section] } });
}

export function egressOnly(section: Record<string, unknown>): Record<string, unknown> {
  return cnp({ spec: { endpointSelector: {}, egress: [section] } });
}

/** An ingress section allowing these `ports` items from anywhere. */
export function ports(...items: Record<string, unknown>[]): Record<string, unknown> {
  return ingressOnly({ toPorts: [{ ports: items }] });
}
