// The agent's read-back of one endpoint's map entries (CNI CHECK): in sync as written, and each
// way an entry can differ behind its back named.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/api/endpoints.js';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { encodeIpcacheKey } from '../../../src/datapath/layout/ipcache.js';
import { encodeLxcKey } from '../../../src/datapath/layout/lxc.js';
import { endpointMap, IPCACHE_MAP, LXC_MAP, POLICY_MAPS } from '../../../src/datapath/maps.js';
import { applyMapOps } from '../../../src/shim/agent/apply.js';
import { datapathProblems } from '../../../src/shim/agent/datapath-check.js';
import { policyReplace } from '../../../src/shim/agent/plan.js';
import { desiredFromSnapshot, planReconcile } from '../../../src/shim/agent/reconcile.js';

const ep = { id: 7, node: 'n1', addressing: { ipv4: '10.1.0.7' }, identity: { id: 300 }, 'interface-index': 12, mac: '0a:00:00:00:00:07', 'host-mac': '0a:00:00:00:00:01' } as Endpoint;
const policy = [{ key: '00012c0000000000', value: '0000000000000000' }, { key: '0001000000000000', value: '0100000000000000' }].map((e) => ({ key: e.key.padEnd(24, '0'), value: e.value }));
const policyMap = endpointMap(POLICY_MAPS, 7);

/** Maps holding the endpoint exactly as the agent writes it. */
function written(): MemoryBackend {
  const backend = new MemoryBackend();
  const ipcache = [{ prefix: '10.1.0.7/32', identity: 300, node: 'n1', 'host-ip': null, endpoint: 7 }];
  applyMapOps(backend, [policyReplace(7, policy), ...planReconcile([], desiredFromSnapshot('n1', ipcache, [ep]))]);
  return backend;
}

describe('datapathProblems', () => {
  it('is empty for maps as written', () => {
    expect(datapathProblems('n1', written(), ep, policy)).toEqual([]);
  });

  it.each([
    { name: 'lxc entry deleted', change: (b: MemoryBackend) => b.delete(LXC_MAP, encodeLxcKey('10.1.0.7')), want: /^cilium_lxc entry .* is missing$/ },
    { name: 'ipcache entry deleted', change: (b: MemoryBackend) => b.delete(IPCACHE_MAP, encodeIpcacheKey('10.1.0.7/32')), want: /^cilium_ipcache_v2 entry .* is missing$/ },
    { name: 'policy map unpinned', change: (b: MemoryBackend) => b.removeMap(policyMap), want: /^cilium_policy_v2_00007 is missing$/ },
    {
      name: 'policy entry changed',
      change: (b: MemoryBackend) => b.put(policyMap, Buffer.from(policy[0]!.key, 'hex'), Buffer.from('0100000000000000', 'hex')),
      want: /^cilium_policy_v2_00007 entry .* is 0100000000000000, expected 0000000000000000$/,
    },
    { name: 'policy entry added', change: (b: MemoryBackend) => b.put(policyMap, new Uint8Array(12).fill(9), new Uint8Array(8)), want: /^cilium_policy_v2_00007 holds 090909090909090909090909, which the policy has not$/ },
  ])('names a difference: $name', ({ change, want }) => {
    const backend = written();
    change(backend);
    const problems = datapathProblems('n1', backend, ep, policy);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(want);
  });

  it('an endpoint that moved to another identity differs in its lxc and ipcache entries', () => {
    const backend = written();
    expect(datapathProblems('n1', backend, { ...ep, identity: { ...ep.identity, id: 301 } }, policy)).toHaveLength(2);
  });
});
