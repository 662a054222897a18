// Every bad request gets a specific 4xx with a machine-readable code and leaves the stored
// state byte-for-byte unchanged.
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, clusterWithNodes, dumpState, type CallOptions } from './helpers.js';

const c = await clusterWithNodes(['node-1']);
const ep = `${c.base}/nodes/node-1/endpoints`;
const good = { labels: ['k8s:app=web'], 'k8s-namespace': 'default', addressing: { ipv4: '10.0.0.1' } };
const seeded = await c.createEndpoint('node-1', '1', good);
const nsSeeded = await call('PUT', `${c.base}/namespaces/default`, { body: { labels: { team: 'web' } } });
if (nsSeeded.status !== 201) throw new Error(`seed failed: ${JSON.stringify(nsSeeded.body)}`);
if (seeded.status !== 201) throw new Error(`seed failed: ${JSON.stringify(seeded.body)}`);

// Policies in place (one naming a CIDR, so a CIDR identity is stored too): every refused policy
// request must leave them, the policy revision, the CIDR identities and each identity's policy
// revision as they were.
const yaml = { 'content-type': 'application/yaml' };
const cnpBody = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p', namespace: 'default' }) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata, spec,
});
const ccnpBody = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'g' }) => ({
  apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata, spec,
});
const webSpec = { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromCIDR: ['10.1.0.0/16'] }] };
for (const [path, body] of [[`${c.base}/policies/default/p`, cnpBody(webSpec)], [`${c.base}/clusterwide-policies/g`, ccnpBody(webSpec)]] as const) {
  const put = await call('PUT', path, { body });
  if (put.status !== 201) throw new Error(`seed failed: ${JSON.stringify(put.body)}`);
}
const cnp = `${c.base}/policies/default/p`;
const ccnp = `${c.base}/clusterwide-policies/g`;
/** The endpoint's identity since its namespace got labels. */
const webIdentity: number = (await c.getEndpoint('node-1', '1')).body.identity.id;
const trace = (from: unknown, to: unknown = { identity: webIdentity }, rest: Record<string, unknown> = { protocol: 'TCP', port: 80 }) => withBody({ from, to, ...rest });
/** A cursor as the API encodes one (base64url JSON), for positions it never issued. */
const cursorOf = (position: unknown) => btoa(JSON.stringify(position)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
/** Over the 1 MiB policy body limit. */
const hugeYaml = `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  annotations:\n    big: "${'x'.repeat(1024 * 1024)}"\nspec:\n  endpointSelector: {}\n`;

interface Row {
  name: string;
  method: string;
  path: string;
  opts?: CallOptions;
  status: number;
  code: string;
}

const withBody = (body: unknown): CallOptions => ({ body });
const rows: Row[] = [
  { name: 'no token', method: 'GET', path: `${c.base}/nodes`, opts: { token: null }, status: 401, code: 'unauthorized' },
  { name: 'wrong token', method: 'PUT', path: `${ep}/2`, opts: { body: good, token: 'nope' }, status: 401, code: 'unauthorized' },
  { name: 'wrong token of the admin token\'s length', method: 'PUT', path: `${ep}/2`, opts: { body: good, token: ADMIN_TOKEN.replace(/.$/, 'X') }, status: 401, code: 'unauthorized' },
  { name: 'the admin token with a suffix', method: 'PUT', path: `${ep}/2`, opts: { body: good, token: `${ADMIN_TOKEN}x` }, status: 401, code: 'unauthorized' },
  { name: 'malformed auth header', method: 'GET', path: `${c.base}/nodes`, opts: { token: null, headers: { authorization: 'Basic abc' } }, status: 401, code: 'unauthorized' },
  { name: 'malformed JSON', method: 'PUT', path: `${ep}/2`, opts: { rawBody: '{"labels": [' }, status: 400, code: 'malformed-json' },
  { name: 'JSON that is not an object', method: 'PUT', path: `${ep}/2`, opts: { rawBody: '[1,2]' }, status: 400, code: 'invalid-request' },
  { name: 'wrong content type', method: 'PUT', path: `${ep}/2`, opts: { rawBody: JSON.stringify(good), headers: { 'content-type': 'text/plain' } }, status: 400, code: 'invalid-request' },
  { name: 'labels not an array', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: 'k8s:app=web' }), status: 400, code: 'invalid-request' },
  { name: 'sync flag not a boolean', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, 'sync-build-endpoint': 'yes' }), status: 400, code: 'invalid-request' },
  { name: 'unknown field', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, colour: 'red' }), status: 400, code: 'invalid-request' },
  { name: 'unknown addressing field', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '10.0.0.2', ipv5: 'x' } }), status: 400, code: 'invalid-request' },
  { name: 'label with bad key', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['k8s:-app=web'] }), status: 400, code: 'invalid-label' },
  { name: 'label with bad value', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['k8s:app=we b'] }), status: 400, code: 'invalid-label' },
  { name: 'label value too long', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: [`k8s:app=${'a'.repeat(64)}`] }), status: 400, code: 'invalid-label' },
  { name: 'unknown label source', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['kube:app=web'] }), status: 400, code: 'invalid-label' },
  { name: 'reserved label', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['reserved:host'] }), status: 400, code: 'reserved-label' },
  { name: 'reserved label via $', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['$world'] }), status: 400, code: 'reserved-label' },
  { name: 'one key, two values', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['k8s:app=a', 'container:app=b'] }), status: 400, code: 'duplicate-label-key' },
  { name: 'namespace label contradicting k8s-namespace', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['k8s:io.kubernetes.pod.namespace=x'], 'k8s-namespace': 'y' }), status: 400, code: 'managed-label' },
  { name: 'IPv4 with leading zero', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '10.0.0.01' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv4 with prefix', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '10.0.0.2/32' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv4 out of range', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '10.0.0.256' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv6 in the IPv4 field', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: 'fd00::2' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv6 with two ::', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv6: 'fd00::1::2' } }), status: 400, code: 'invalid-ip' },
  { name: 'IPv6 with zone', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv6: 'fe80::1%eth0' } }), status: 400, code: 'invalid-ip' },
  { name: 'endpoint ID over 4095', method: 'PUT', path: `${ep}/4096`, opts: withBody(good), status: 400, code: 'invalid-endpoint-ref' },
  { name: 'endpoint ID negative', method: 'PUT', path: `${ep}/-1`, opts: withBody(good), status: 400, code: 'invalid-endpoint-ref' },
  { name: 'endpoint ID not a number', method: 'GET', path: `${ep}/cilium-local:abc`, status: 400, code: 'invalid-endpoint-ref' },
  { name: 'endpoint ref unknown prefix', method: 'GET', path: `${ep}/docker:abc`, status: 400, code: 'invalid-endpoint-ref' },
  { name: 'create by container-id', method: 'PUT', path: `${ep}/container-id:abc`, opts: withBody(good), status: 400, code: 'invalid-endpoint-ref' },
  { name: 'endpoint ID 0 on lookup', method: 'GET', path: `${ep}/0`, status: 400, code: 'invalid-endpoint-ref' },
  { name: 'bad namespace', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, 'k8s-namespace': 'Default' }), status: 400, code: 'invalid-request' },
  { name: 'bad node name', method: 'PUT', path: `${c.base}/nodes/Node_1`, opts: withBody({}), status: 400, code: 'invalid-node-name' },
  { name: 'bad cluster name', method: 'GET', path: '/v1/clusters/UPPER/nodes', status: 400, code: 'invalid-cluster-name' },
  { name: 'bad node IP', method: 'PUT', path: `${c.base}/nodes/node-2`, opts: withBody({ ipv4: '1.2.3' }), status: 400, code: 'invalid-ip' },
  { name: 'oversized body', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, labels: Array.from({ length: 3000 }, (_, i) => `k8s:l${i}=${'v'.repeat(20)}`) }), status: 413, code: 'payload-too-large' },
  { name: 'taken endpoint ID', method: 'PUT', path: `${ep}/1`, opts: withBody({ labels: ['k8s:app=other'] }), status: 409, code: 'endpoint-ref-taken' },
  { name: 'taken IP', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '10.0.0.1' } }), status: 409, code: 'ip-in-use' },
  { name: 'unknown node', method: 'PUT', path: `${c.base}/nodes/node-9/endpoints/1`, opts: withBody(good), status: 404, code: 'node-not-found' },
  { name: 'unknown endpoint', method: 'DELETE', path: `${ep}/99`, status: 404, code: 'endpoint-not-found' },
  { name: 'unknown identity', method: 'GET', path: `${c.base}/identities/70000`, status: 404, code: 'identity-not-found' },
  { name: 'identity number not a number', method: 'GET', path: `${c.base}/identities/abc`, status: 400, code: 'invalid-request' },
  { name: 'invalid label-filter regex', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'label-filter': ['k8s:app(', '!foo'] }), status: 400, code: 'invalid-label-filter' },
  { name: 'label-filter lookahead', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'label-filter': ['(?=a)b'] }), status: 400, code: 'invalid-label-filter' },
  { name: 'label-filter of a bare !', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'label-filter': ['app', '!'] }), status: 400, code: 'invalid-label-filter' },
  { name: 'label-filter of k8s:! (empty after source and !)', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'label-filter': ['k8s:!'] }), status: 400, code: 'invalid-label-filter' },
  { name: 'label-filter lookbehind', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'label-filter': ['(?<=a)b'] }), status: 400, code: 'invalid-label-filter' },
  { name: 'label-filter repeat over 1000', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'label-filter': ['a{1001}'] }), status: 400, code: 'invalid-label-filter' },
  { name: 'zero identity rate', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'node-identity-rate': 0 }), status: 400, code: 'invalid-request' },
  { name: 'fractional identity burst', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'node-identity-burst': 1.5 }), status: 400, code: 'invalid-request' },
  { name: 'negative grace', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'identity-gc-grace-seconds': -1 }), status: 400, code: 'invalid-request' },
  { name: 'unknown config field', method: 'PATCH', path: `${c.base}/config`, opts: withBody({ 'cluster-id': 3 }), status: 400, code: 'invalid-request' },
  { name: 'patch deleting a missing label', method: 'PATCH', path: `${ep}/1/labels`, opts: withBody({ delete: ['k8s:app=nope'] }), status: 400, code: 'label-not-found' },
  { name: 'patch adding a reserved label', method: 'PATCH', path: `${ep}/1/labels`, opts: withBody({ add: ['reserved:host'] }), status: 400, code: 'reserved-label' },
  { name: 'ipcache limit over 100000', method: 'GET', path: `${c.base}/ipcache?limit=100001`, status: 400, code: 'invalid-request' },
  { name: 'list limit over 10000', method: 'GET', path: `${c.base}/endpoints?limit=10001`, status: 400, code: 'invalid-request' },
  { name: 'node policy with a forged cursor', method: 'GET', path: `${c.base}/nodes/node-1/policy?cursor=bm9wZQ`, status: 400, code: 'invalid-cursor' },
  { name: 'node policy limit over 1000', method: 'GET', path: `${c.base}/nodes/node-1/policy?limit=1001`, status: 400, code: 'invalid-request' },
  { name: 'node policy of an unknown node', method: 'GET', path: `${c.base}/nodes/node-9/policy`, status: 404, code: 'node-not-found' },
  { name: 'feed chunk not an index', method: 'GET', path: `${c.base}/feed?since=0&chunk=-1`, status: 400, code: 'invalid-request' },
  { name: 'list with a forged cursor', method: 'GET', path: `${c.base}/endpoints?cursor=bm9wZQ`, status: 400, code: 'invalid-cursor' },
  { name: 'heartbeat beyond the cluster revision', method: 'POST', path: `${c.base}/nodes/node-1/heartbeat`, opts: withBody({ 'applied-revision': 999999 }), status: 400, code: 'invalid-revision' },
  { name: 'node cluster label on create', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['k8s:io.cilium.k8s.policy.cluster=x'] }), status: 400, code: 'managed-label' },
  { name: 'namespace label on create', method: 'PUT', path: `${ep}/2`, opts: withBody({ labels: ['io.cilium.k8s.namespace.labels.team=x'] }), status: 400, code: 'managed-label' },
  { name: 'IPv4-mapped pod address', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv6: '::ffff:10.0.0.1' } }), status: 400, code: 'invalid-ip' },
  { name: 'broadcast pod address', method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '255.255.255.255' } }), status: 400, code: 'invalid-ip' },
  { name: "node's own address as a pod's", method: 'PUT', path: `${ep}/2`, opts: withBody({ ...good, addressing: { ipv4: '192.168.0.1' } }), status: 409, code: 'ip-in-use' },
  { name: 'bad namespace name', method: 'PUT', path: `${c.base}/namespaces/Shop`, opts: withBody({ labels: {} }), status: 400, code: 'invalid-namespace-name' },
  { name: 'namespace without labels', method: 'PUT', path: `${c.base}/namespaces/shop`, opts: withBody({}), status: 400, code: 'invalid-request' },
  { name: 'namespace label with bad key', method: 'PUT', path: `${c.base}/namespaces/default`, opts: withBody({ labels: { 'a/b/c': 'x' } }), status: 400, code: 'invalid-label' },
  { name: 'namespace label value too long', method: 'PUT', path: `${c.base}/namespaces/default`, opts: withBody({ labels: { team: 'v'.repeat(64) } }), status: 400, code: 'invalid-request' },
  { name: 'unknown namespace', method: 'GET', path: `${c.base}/namespaces/nope`, status: 404, code: 'namespace-not-found' },
  { name: 'delete unknown namespace', method: 'DELETE', path: `${c.base}/namespaces/nope`, status: 404, code: 'namespace-not-found' },
  { name: 'namespace list limit over 10000', method: 'GET', path: `${c.base}/namespaces?limit=10001`, status: 400, code: 'invalid-request' },
  { name: 'namespace list with a forged cursor', method: 'GET', path: `${c.base}/namespaces?cursor=bm9wZQ`, status: 400, code: 'invalid-cursor' },
  { name: 'CNP: malformed YAML', method: 'PUT', path: cnp, opts: { rawBody: 'spec: [a', headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: malformed JSON', method: 'PUT', path: cnp, opts: { rawBody: '{"spec": ' }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: YAML sent as text/plain (read as JSON)', method: 'PUT', path: cnp, opts: { rawBody: 'kind: CiliumNetworkPolicy', headers: { 'content-type': 'text/plain' } }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: two YAML documents', method: 'PUT', path: cnp, opts: { rawBody: 'kind: a\n---\nkind: b\n', headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: empty body', method: 'PUT', path: cnp, opts: { rawBody: '', headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: a list, not an object', method: 'PUT', path: cnp, opts: { rawBody: '[1, 2]' }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: a YAML scalar', method: 'PUT', path: cnp, opts: { rawBody: 'just text', headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: name not the path', method: 'PUT', path: cnp, opts: withBody(cnpBody(webSpec, { name: 'q' })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: namespace not the path', method: 'PUT', path: cnp, opts: withBody(cnpBody(webSpec, { name: 'p', namespace: 'shop' })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: bad namespace in the path', method: 'PUT', path: `${c.base}/policies/Default/p`, opts: withBody(cnpBody(webSpec, { name: 'p' })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: bad name in the path', method: 'PUT', path: `${c.base}/policies/default/P_1`, opts: withBody(cnpBody(webSpec, { name: 'P_1' })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: name over 253 characters in the path', method: 'PUT', path: `${c.base}/policies/default/${'a'.repeat(254)}`, opts: withBody(cnpBody(webSpec, {})), status: 400, code: 'invalid-request' },
  { name: 'CNP: kind CCNP', method: 'PUT', path: cnp, opts: withBody({ ...cnpBody(webSpec), kind: 'CiliumClusterwideNetworkPolicy' }), status: 400, code: 'invalid-policy' },
  { name: 'CNP: wrong apiVersion', method: 'PUT', path: cnp, opts: withBody({ ...cnpBody(webSpec), apiVersion: 'cilium.io/v1' }), status: 400, code: 'invalid-policy' },
  { name: 'CNP: no spec', method: 'PUT', path: cnp, opts: withBody({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p' } }), status: 400, code: 'invalid-policy' },
  { name: 'CNP: bad port', method: 'PUT', path: cnp, opts: withBody(cnpBody({ endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '65536' }] }] }] })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: bad CIDR', method: 'PUT', path: cnp, opts: withBody(cnpBody({ endpointSelector: {}, ingress: [{ fromCIDR: ['10.0.0.0/33'] }] })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: bad selector operator', method: 'PUT', path: cnp, opts: withBody(cnpBody({ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'Like' }] }, ingress: [{}] })), status: 400, code: 'invalid-policy' },
  { name: 'CNP: unsupported toFQDNs', method: 'PUT', path: cnp, opts: withBody(cnpBody({ endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: 'a.example' }] }] })), status: 400, code: 'unsupported-policy-field' },
  { name: 'CNP: YAML alias inside its own anchor', method: 'PUT', path: cnp, opts: { rawBody: 'a: &a [*a]\n', headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: JSON nested 5000 levels', method: 'PUT', path: cnp, opts: { rawBody: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}` }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: YAML nested 5000 levels', method: 'PUT', path: cnp, opts: { rawBody: `${'['.repeat(5000)}${']'.repeat(5000)}`, headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CNP: over 1 MiB', method: 'PUT', path: cnp, opts: { rawBody: hugeYaml, headers: yaml }, status: 413, code: 'payload-too-large' },
  { name: 'CCNP: malformed YAML', method: 'PUT', path: ccnp, opts: { rawBody: 'spec: {a', headers: yaml }, status: 400, code: 'invalid-policy' },
  { name: 'CCNP: with a namespace', method: 'PUT', path: ccnp, opts: withBody(ccnpBody(webSpec, { name: 'g', namespace: 'default' })), status: 400, code: 'invalid-policy' },
  { name: 'CCNP: kind CNP', method: 'PUT', path: ccnp, opts: withBody({ ...ccnpBody(webSpec), kind: 'CiliumNetworkPolicy' }), status: 400, code: 'invalid-policy' },
  { name: 'CCNP: name not the path', method: 'PUT', path: ccnp, opts: withBody(ccnpBody(webSpec, { name: 'h' })), status: 400, code: 'invalid-policy' },
  { name: 'CCNP: unsupported L7 rules', method: 'PUT', path: ccnp, opts: withBody(ccnpBody({ endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{}] } }] }] })), status: 400, code: 'unsupported-policy-field' },
  { name: 'CCNP: over 1 MiB', method: 'PUT', path: ccnp, opts: { rawBody: hugeYaml.replace('CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy').replace('name: p', 'name: g'), headers: yaml }, status: 413, code: 'payload-too-large' },
  { name: 'GET unknown CNP', method: 'GET', path: `${c.base}/policies/default/nope`, status: 404, code: 'policy-not-found' },
  { name: 'GET a CCNP by a CNP path', method: 'GET', path: `${c.base}/policies/default/g`, status: 404, code: 'policy-not-found' },
  { name: 'GET unknown CCNP', method: 'GET', path: `${c.base}/clusterwide-policies/nope`, status: 404, code: 'policy-not-found' },
  { name: 'DELETE unknown CNP', method: 'DELETE', path: `${c.base}/policies/default/nope`, status: 404, code: 'policy-not-found' },
  { name: 'DELETE unknown CCNP', method: 'DELETE', path: `${c.base}/clusterwide-policies/nope`, status: 404, code: 'policy-not-found' },
  { name: 'CNP list limit 0', method: 'GET', path: `${c.base}/policies?limit=0`, status: 400, code: 'invalid-request' },
  { name: 'CNP list limit over 1000', method: 'GET', path: `${c.base}/policies?limit=1001`, status: 400, code: 'invalid-request' },
  { name: 'CNP list limit not a number', method: 'GET', path: `${c.base}/policies?limit=ten`, status: 400, code: 'invalid-request' },
  { name: 'CNP list with a forged cursor', method: 'GET', path: `${c.base}/policies?cursor=bm9wZQ`, status: 400, code: 'invalid-cursor' },
  { name: 'namespace CNP list limit over 1000', method: 'GET', path: `${c.base}/policies/default?limit=1001`, status: 400, code: 'invalid-request' },
  { name: 'namespace CNP list with a forged cursor', method: 'GET', path: `${c.base}/policies/default?cursor=e30`, status: 400, code: 'invalid-cursor' },
  { name: 'CCNP list limit fractional', method: 'GET', path: `${c.base}/clusterwide-policies?limit=1.5`, status: 400, code: 'invalid-request' },
  { name: 'CCNP list with a forged cursor', method: 'GET', path: `${c.base}/clusterwide-policies?cursor=!!`, status: 400, code: 'invalid-cursor' },
  { name: 'trace: malformed JSON', method: 'POST', path: `${c.base}/policy/trace`, opts: { rawBody: '{"from":' }, status: 400, code: 'malformed-json' },
  { name: 'trace: no destination', method: 'POST', path: `${c.base}/policy/trace`, opts: withBody({ from: { identity: 2 }, protocol: 'TCP', port: 80 }), status: 400, code: 'invalid-request' },
  { name: 'trace: unknown protocol name', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ identity: 2 }, undefined, { protocol: 'ICMP', port: 0 }), status: 400, code: 'invalid-request' },
  { name: 'trace: protocol number over 255', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ identity: 2 }, undefined, { protocol: 256, port: 0 }), status: 400, code: 'invalid-request' },
  { name: 'trace: port over 65535', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ identity: 2 }, undefined, { protocol: 'TCP', port: 65536 }), status: 400, code: 'invalid-request' },
  { name: 'trace: a party in two forms', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ identity: 2, labels: ['k8s:app=web'] }), status: 400, code: 'invalid-request' },
  { name: 'trace: unknown field', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ identity: 2 }, undefined, { protocol: 'TCP', port: 80, verbose: true }), status: 400, code: 'invalid-request' },
  { name: 'trace: unknown identity', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ identity: 70000 }), status: 404, code: 'identity-not-found' },
  { name: 'trace: bad label', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ labels: ['k8s:app=we b'] }), status: 400, code: 'invalid-label' },
  { name: 'trace: bad endpoint ref', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ endpoint: { node: 'node-1', ref: 'docker:x' } }), status: 400, code: 'invalid-endpoint-ref' },
  { name: 'trace: unknown endpoint', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ endpoint: { node: 'node-1', ref: '99' } }), status: 404, code: 'endpoint-not-found' },
  { name: 'trace: endpoint of an unknown node', method: 'POST', path: `${c.base}/policy/trace`, opts: trace({ endpoint: { node: 'node-9', ref: '1' } }), status: 404, code: 'node-not-found' },
  { name: 'identity policy: id not a number', method: 'GET', path: `${c.base}/identities/abc/policy`, status: 400, code: 'invalid-request' },
  { name: 'identity policy: id over 10 digits', method: 'GET', path: `${c.base}/identities/12345678901/policy`, status: 400, code: 'invalid-request' },
  { name: 'identity policy: unknown identity', method: 'GET', path: `${c.base}/identities/70000/policy`, status: 404, code: 'identity-not-found' },
  { name: 'identity policy: a reserved identity', method: 'GET', path: `${c.base}/identities/2/policy`, status: 404, code: 'policy-not-found' },
  { name: 'identity policy: a CIDR identity', method: 'GET', path: `${c.base}/identities/${(1 << 24) + 1}/policy`, status: 404, code: 'policy-not-found' },
  { name: 'endpoint policy: bad ref', method: 'GET', path: `${ep}/docker:abc/policy`, status: 400, code: 'invalid-endpoint-ref' },
  { name: 'endpoint policy: unknown endpoint', method: 'GET', path: `${ep}/99/policy`, status: 404, code: 'endpoint-not-found' },
  { name: 'endpoint policy: unknown node', method: 'GET', path: `${c.base}/nodes/node-9/endpoints/1/policy`, status: 404, code: 'node-not-found' },
  { name: 'node policy limit 0', method: 'GET', path: `${c.base}/nodes/node-1/policy?limit=0`, status: 400, code: 'invalid-request' },
  { name: 'node policy cursor beyond the cluster revision', method: 'GET', path: `${c.base}/nodes/node-1/policy?cursor=${cursorOf({ revision: 1e300, identity: 0 })}`, status: 400, code: 'invalid-cursor' },
  { name: 'node policy cursor with a negative identity', method: 'GET', path: `${c.base}/nodes/node-1/policy?cursor=${cursorOf({ revision: 1, identity: -1 })}`, status: 400, code: 'invalid-cursor' },
  { name: 'node policy cursor of another list', method: 'GET', path: `${c.base}/nodes/node-1/policy?cursor=eyJuYW1lc3BhY2UiOiIiLCJuYW1lIjoiZyJ9`, status: 400, code: 'invalid-cursor' },
  { name: 'selectors limit 0', method: 'GET', path: `${cnp}/selectors?limit=0`, status: 400, code: 'invalid-request' },
  { name: 'selectors limit over 1000', method: 'GET', path: `${cnp}/selectors?limit=1001`, status: 400, code: 'invalid-request' },
  { name: 'selectors limit not a number', method: 'GET', path: `${ccnp}/selectors?limit=all`, status: 400, code: 'invalid-request' },
  { name: 'selectors limit fractional', method: 'GET', path: `${ccnp}/selectors?limit=2.5`, status: 400, code: 'invalid-request' },
  { name: 'selectors of an unknown CNP', method: 'GET', path: `${c.base}/policies/default/nope/selectors`, status: 404, code: 'policy-not-found' },
  { name: 'selectors of an unknown CCNP', method: 'GET', path: `${c.base}/clusterwide-policies/nope/selectors`, status: 404, code: 'policy-not-found' },
  { name: 'unknown route', method: 'GET', path: `${c.base}/nope`, status: 404, code: 'not-found' },
  { name: 'unknown route outside a cluster', method: 'GET', path: '/v1/nope', status: 404, code: 'not-found' },
  { name: 'feed socket without an upgrade', method: 'GET', path: `${c.base}/feed/ws?since=0`, status: 400, code: 'invalid-request' },
  { name: 'feed socket with a bad since', method: 'GET', path: `${c.base}/feed/ws?since=-1`, opts: { headers: { upgrade: 'websocket' } }, status: 400, code: 'invalid-request' },
  { name: 'feed socket with a forged node token', method: 'GET', path: `${c.base}/feed/ws?since=0`, opts: { token: `node-1.${'A'.repeat(43)}`, headers: { upgrade: 'websocket' } }, status: 401, code: 'unauthorized' },
];

describe('bad input', () => {
  it('compares the policy state: policies, the policy revision, CIDR identities, identity policy revisions and the engine', async () => {
    const state = await dumpState(c.cluster);
    expect(state.policies).toHaveLength(2);
    expect(state.meta).toContainEqual({ key: 'policy-revision', value: '3' });
    expect(state.cidr_identities).toEqual([{ prefix: '10.1.0.0/16', id: (1 << 24) + 1 }]);
    expect(state.identities).toContainEqual(expect.objectContaining({ id: webIdentity, refcount: 1, policy_revision: 3 }));
    const [engine] = state['policy engine (in memory)'] as { policies: [number, { ingressEnforced: boolean } | undefined][] }[];
    expect(engine!.policies).toContainEqual([webIdentity, expect.objectContaining({ ingressEnforced: true })]);
  });

  it.each(rows)('$name → $status $code, state unchanged', async ({ method, path, opts, status, code }) => {
    const before = await dumpState(c.cluster);
    const res = await call(method, path, opts);
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(typeof res.body.error.message).toBe('string');
    expect(await dumpState(c.cluster)).toEqual(before);
  });
});
