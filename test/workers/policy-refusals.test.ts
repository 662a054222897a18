// Invalid and unsupported policies: each a 400 with its code and a message naming the field path,
// with every stored byte unchanged (policies, revisions, identities, entries).
import { describe, expect, it } from 'vitest';
import { call, clusterWithNodes, dumpState } from './helpers.js';

const yaml = { 'content-type': 'application/yaml' };
const cnp = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p', namespace: 'shop' }) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata, spec,
});
const web = { matchLabels: { app: 'web' } };
const ingressPorts = (ports: unknown[]) => cnp({ endpointSelector: web, ingress: [{ toPorts: [{ ports }] }] });

interface Case {
  name: string;
  body: unknown;
  raw?: string;
  code: 'invalid-policy' | 'unsupported-policy-field';
  /** The message starts with this (the field path). */
  starts: string;
}

const cases: Case[] = [
  { name: 'malformed YAML', body: undefined, raw: 'apiVersion: [cilium.io/v2\nkind: x', code: 'invalid-policy', starts: 'malformed YAML' },
  { name: 'port with a leading zero', body: ingressPorts([{ port: '080', protocol: 'TCP' }]), code: 'invalid-policy', starts: 'spec.ingress[0].toPorts[0].ports[0].port' },
  { name: 'port 0 with an endPort', body: ingressPorts([{ port: '0', endPort: 100, protocol: 'TCP' }]), code: 'invalid-policy', starts: 'spec.ingress[0].toPorts[0].ports[0]' },
  { name: 'unknown field', body: cnp({ endpointSelector: web, ingress: [{ fromPods: [] }] }), code: 'invalid-policy', starts: 'spec.ingress[0].fromPods' },
  { name: 'name not the path', body: cnp({ endpointSelector: web, ingress: [{}] }, { name: 'other' }), code: 'invalid-policy', starts: 'metadata.name' },
  { name: 'no rule', body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p' } }, code: 'invalid-policy', starts: 'Invalid CiliumNetworkPolicy spec(s): empty policy' },
  { name: 'wrong kind', body: { ...cnp({ endpointSelector: web, ingress: [{}] }), kind: 'CiliumClusterwideNetworkPolicy' }, code: 'invalid-policy', starts: 'kind' },
  { name: 'toFQDNs', body: cnp({ endpointSelector: web, egress: [{ toFQDNs: [{ matchName: 'example.com' }] }] }), code: 'unsupported-policy-field', starts: 'spec.egress[0].toFQDNs' },
  {
    name: 'L7 rules',
    body: cnp({ endpointSelector: web, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }] }),
    code: 'unsupported-policy-field',
    starts: 'spec.ingress[0].toPorts[0].rules',
  },
  { name: 'named port', body: ingressPorts([{ port: 'http', protocol: 'TCP' }]), code: 'unsupported-policy-field', starts: 'spec.ingress[0].toPorts[0].ports[0].port' },
  { name: 'icmps', body: cnp({ endpointSelector: web, ingress: [{ icmps: [{ fields: [{ type: 8 }] }] }] }), code: 'unsupported-policy-field', starts: 'spec.ingress[0].icmps' },
];

describe('refused policies', () => {
  it.each(cases)('$name → 400 $code', async ({ body, raw, code, starts }) => {
    const c = await clusterWithNodes(['node-1']);
    await c.createEndpoint('node-1', '0', { labels: ['k8s:app=web'], 'k8s-namespace': 'shop' });
    const good = await call('PUT', `${c.base}/policies/shop/p`, { body: cnp({ endpointSelector: web, ingress: [{ fromEntities: ['world'] }] }) });
    expect(good.status).toBe(201);
    const before = await dumpState(c.cluster);
    const res = raw === undefined ? await call('PUT', `${c.base}/policies/shop/p`, { body }) : await call('PUT', `${c.base}/policies/shop/p`, { rawBody: raw, headers: yaml });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message.startsWith(starts), res.body.error.message).toBe(true);
    expect(await dumpState(c.cluster)).toEqual(before);
  });
});
