// The i-th sync create of the breakdown (bench/create-breakdown.ts): the body the http section's
// create load sends (50 label sets in namespace `bench`, a unique pod-template-hash and IPv4), so
// the stages measured are those of that load's creates; and what the traced create loop answers.
import type { EndpointChangeRequest } from '../src/api/endpoints.js';

export const BREAKDOWN_CLUSTER = 'breakdown';
export const BREAKDOWN_NODES = Array.from({ length: 40 }, (_, i) => `node-${i}`);

export function breakdownNode(i: number): string {
  return BREAKDOWN_NODES[i % BREAKDOWN_NODES.length]!;
}

export function breakdownRequest(i: number): EndpointChangeRequest {
  return {
    labels: [`k8s:app=app-${i % 50}`, `k8s:pod-template-hash=h${i}`],
    'k8s-namespace': 'bench',
    'k8s-pod-name': `pod-${i}`,
    addressing: { ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    'sync-build-endpoint': true,
  };
}

export interface TracedRun {
  creates: number;
  /** Wall time of the same number of creates without tracing, and with it. */
  untracedMs: number;
  tracedMs: number;
  /** Exclusive milliseconds per stage over the traced creates, and how often each was entered. */
  stages: Record<string, { ms: number; calls: number }>;
}
