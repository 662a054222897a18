// Whether the maps hold an endpoint as the agent wrote it: its lxc entries, its addresses in the
// ipcache, and its policy map with exactly the entries of its identity. What CNI CHECK asks the
// agent (an entry deleted or changed behind the agent's back is a failed CHECK).
import type { Endpoint } from '../../api/endpoints.js';
import { hostPrefixesOf } from '../../core/ip.js';
import { hexOf, type MapBackend } from '../../datapath/backends/backend.js';
import { endpointMap, POLICY_MAPS } from '../../datapath/maps.js';
import type { PolicyEntries } from './node-view.js';
import { desiredFromSnapshot } from './reconcile.js';

/** The differences between the maps and what they should hold for `ep` (empty: in sync). */
export function datapathProblems(self: string, backend: MapBackend, ep: Endpoint, policy: PolicyEntries | undefined): string[] {
  const problems: string[] = [];
  const ipcache = hostPrefixesOf(ep.addressing).map((prefix) => ({ prefix, identity: ep.identity.id, node: self, 'host-ip': null, endpoint: ep.id }));
  for (const { map, entries } of desiredFromSnapshot(self, ipcache, [ep]).values()) {
    for (let i = 0; i < entries.size; i++) {
      const [key, value] = [entries.keyAt(i), entries.valueAt(i)];
      const have = backend.lookup(map, key);
      const what = `${map.name} entry ${hexOf(key)}`;
      if (have === undefined) problems.push(`${what} is missing`);
      else if (hexOf(have) !== hexOf(value)) problems.push(`${what} is ${hexOf(have)}, expected ${hexOf(value)}`);
    }
  }
  const map = endpointMap(POLICY_MAPS, ep.id);
  if (!backend.pinnedMaps(POLICY_MAPS).some((m) => m.name === map.name)) return [...problems, `${map.name} is missing`];
  const want = new Map((policy ?? []).map((e) => [e.key, e.value]));
  const have = new Map(backend.entries(map).map(([k, v]) => [hexOf(k), hexOf(v)]));
  for (const [key, value] of want) if (have.get(key) !== value) problems.push(`${map.name} entry ${key} is ${have.get(key) ?? 'missing'}, expected ${value}`);
  for (const key of have.keys()) if (!want.has(key)) problems.push(`${map.name} holds ${key}, which the policy has not`);
  return problems;
}
