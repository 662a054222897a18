// `idplane get`: kubectl's order (namespace, then name, in byte order) and the -o yaml form.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/api/endpoints.js';
import { renderEndpoints, renderStructured, sortEndpoints } from '../../../src/shim/cli/get.js';

function ep(ns: string | undefined, name: string | undefined, id: number): Endpoint {
  return {
    id, node: 'node-1', state: 'ready', identity: { id: 300, labels: [] }, addressing: { ipv4: `10.0.0.${id}` },
    'policy-enforcement': { ingress: false, egress: false }, ...(ns ? { 'k8s-namespace': ns } : {}), ...(name ? { 'k8s-pod-name': name } : {}),
  } as unknown as Endpoint;
}

describe('sortEndpoints', () => {
  it.each([
    { name: 'namespace first, then name', input: [ep('web', 'a', 1), ep('default', 'z', 2), ep('default', 'b', 3)], want: ['default/b', 'default/z', 'web/a'] },
    { name: 'byte order, as the API server lists keys (upper case before lower)', input: [ep('default', 'b', 1), ep('default', 'B', 2), ep('default', 'a-2', 3), ep('default', 'a', 4)], want: ['default/B', 'default/a', 'default/a-2', 'default/b'] },
    { name: 'no namespace sorts first; no pod name uses <node>-<id>', input: [ep('default', 'x', 1), ep(undefined, undefined, 7)], want: ['/node-1-7', 'default/x'] },
  ])('$name', ({ input, want }) => {
    expect(sortEndpoints(input).map((e) => `${e['k8s-namespace'] ?? ''}/${e['k8s-pod-name'] ?? `${e.node}-${e.id}`}`)).toEqual(want);
  });

  it('orders the -A table the same way', () => {
    const rows = renderEndpoints([ep('web', 'a', 1), ep('default', 'z', 2)], { allNamespaces: true, output: 'table' }).split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2))).toEqual([['default', 'z'], ['web', 'a']]);
  });
});

describe('renderStructured', () => {
  it.each(['json', 'yaml'] as const)('-o %s round-trips the list', async (format) => {
    const value = { items: [ep('default', 'a', 1)] };
    const text = await renderStructured(value, format);
    expect(format === 'json' ? JSON.parse(text) : parse(text)).toEqual(value);
    if (format === 'yaml') expect(text).toMatch(/^items:\n {2}- id: 1\n/);
  });
});
