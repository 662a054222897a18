// What the plugin asks of the local agent: the attachment's reference, the create request, the
// pod's labels; how it reads the agent's refusals and its endpoint (CHECK); the veth pair.
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../../../src/core/ip.js';
import { attachmentPath, checkEndpoint, cniErrorFromAgent, createRequest, endpointLabels } from '../../../../src/shim/cni/endpoint.js';
import { CniError, errorResult } from '../../../../src/shim/cni/errors.js';
import { cniFailure } from './cni-failure.js';
import { attachmentLinks, parseIpLinks } from '../../../../src/shim/cni/links.js';

// `ip -j link show dev eth0` in a pod's namespace and `ip -j link show` on the host (trimmed), as
// iproute2 6.1 prints them for a veth pair made by the bridge plugin.
const INSIDE = '[{"ifindex":2,"link_index":6,"ifname":"eth0","flags":["UP"],"mtu":1500,"link_type":"ether","address":"56:36:6e:d8:f1:fc","link_netnsid":0}]';
const HOST = '[{"ifindex":1,"ifname":"lo","address":"00:00:00:00:00:00"},{"ifindex":2,"ifname":"ifb0","address":"9e:18:6c:80:f6:6f"},'
  + '{"ifindex":5,"ifname":"cni0","address":"9a:ed:22:2e:6e:cf"},{"ifindex":6,"link_index":2,"ifname":"vethdfc4a3d9","master":"cni0","address":"fa:a8:a8:71:95:cf","link_netnsid":1}]';
const LINKS = { containerMac: '56:36:6e:d8:f1:fc', hostIfindex: 6, hostIfname: 'vethdfc4a3d9', hostMac: 'fa:a8:a8:71:95:cf' };

describe('the veth pair', () => {
  it("pairs the container interface with its host-side peer by the peer's index (not the host's ifindex 2)", () => {
    expect(attachmentLinks(parseIpLinks(INSIDE), parseIpLinks(HOST), 'eth0')).toEqual(LINKS);
  });

  it.each([
    { name: 'no such interface in the pod', inside: '[]', host: HOST, msg: "no interface eth0 in the pod's network namespace" },
    { name: 'not a veth', inside: '[{"ifindex":2,"ifname":"eth0","address":"56:36:6e:d8:f1:fc"}]', host: HOST, msg: /is not a veth/ },
    { name: 'its peer gone from the host', inside: INSIDE, host: '[{"ifindex":1,"ifname":"lo","address":"00:00:00:00:00:00"}]', msg: /host-side peer of eth0 \(ifindex 6\)/ },
  ])('code 102 when $name', ({ inside, host, msg }) => {
    const f = cniFailure(() => attachmentLinks(parseIpLinks(inside), parseIpLinks(host), 'eth0'));
    expect(f.code).toBe(102);
    if (typeof msg === 'string') expect(f.msg).toBe(msg);
    else expect(f.msg).toMatch(msg);
  });
});

describe('the create request', () => {
  it('is an EndpointChangeRequest with sync-build-endpoint, at the attachment\'s cni-attachment-id', () => {
    expect(attachmentPath('c0ffee', 'eth0')).toBe('/v1/endpoint/cni-attachment-id:c0ffee:eth0');
    const req = createRequest({
      containerId: 'c0ffee', ifname: 'eth0', namespace: 'default', podName: 'nettool-1', labels: ['k8s:app=nettool-1'],
      addresses: { ipv4: parseIp('10.250.0.2'), ipv6: undefined }, links: LINKS, waitForNodes: false,
    });
    expect(req).toEqual({
      addressing: { ipv4: '10.250.0.2' }, labels: ['k8s:app=nettool-1'], 'k8s-namespace': 'default', 'k8s-pod-name': 'nettool-1',
      'container-id': 'c0ffee', 'container-interface-name': 'eth0', 'interface-name': 'vethdfc4a3d9', 'interface-index': 6,
      mac: '56:36:6e:d8:f1:fc', 'host-mac': 'fa:a8:a8:71:95:cf', 'sync-build-endpoint': true,
    });
    const waiting = createRequest({
      containerId: 'c0ffee', ifname: 'eth0', namespace: 'default', podName: 'nettool-1', labels: [],
      addresses: { ipv4: undefined, ipv6: parseIp('fd00::2') }, links: LINKS, waitForNodes: true,
    });
    expect([waiting.addressing, waiting['wait-for-nodes']]).toEqual([{ ipv6: 'fd00::2' }, true]);
  });

  it.each([
    { name: 'Kubernetes labels get the k8s source, sorted by key', labels: [{ key: 'pod-template-hash', value: '5d78c9869d' }, { key: 'k8s-app', value: 'kube-dns' }], want: ['k8s:k8s-app=kube-dns', 'k8s:pod-template-hash=5d78c9869d'] },
    { name: 'a key with a source prefix keeps it', labels: [{ key: 'container:tier', value: 'db' }, { key: 'app.kubernetes.io/name', value: 'x' }], want: ['k8s:app.kubernetes.io/name=x', 'container:tier=db'] },
    { name: 'an empty value', labels: [{ key: 'canary', value: '' }], want: ['k8s:canary'] },
    { name: 'a repeated identical label folds', labels: [{ key: 'a', value: '1' }, { key: 'a', value: '1' }], want: ['k8s:a=1'] },
    { name: 'none', labels: [], want: [] },
  ])('labels: $name', ({ labels, want }) => {
    expect(endpointLabels(labels)).toEqual(want);
  });

  it.each([
    { name: 'a reserved source', labels: [{ key: 'reserved:host', value: '' }], msg: /not allowed to add reserved labels/ },
    { name: 'an unknown source', labels: [{ key: 'foo:bar', value: '1' }], msg: /unknown source "foo"/ },
    { name: 'a value Kubernetes refuses', labels: [{ key: 'app', value: 'a b' }], msg: /value must be empty or consist of alphanumerics/ },
    { name: 'one key twice with two values', labels: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }], msg: /share the key "a"/ },
  ])('labels: $name is code 7 (the network configuration)', ({ labels, msg }) => {
    const f = cniFailure(() => endpointLabels(labels));
    expect(f.code).toBe(7);
    expect(f.msg).toMatch(/^args\.cni\.labels: /);
    expect(f.msg).toMatch(msg);
  });
});

describe("the agent's refusals", () => {
  const body = (code: string, message = 'why') => ({ error: { code, message } });
  it.each([
    { name: 'control plane unreachable', status: 503, body: body('control-plane-unavailable', 'connect ECONNREFUSED'), code: 11, msg: 'create endpoint: control-plane-unavailable: connect ECONNREFUSED' },
    { name: 'maps not caught up in time', status: 504, body: body('sync-timeout'), code: 11, msg: 'create endpoint: sync-timeout: why' },
    { name: 'rate limited', status: 429, body: body('rate-limited'), code: 11, msg: 'create endpoint: rate-limited: why' },
    { name: 'a managed label', status: 400, body: body('managed-label'), code: 7, msg: 'create endpoint: managed-label: why' },
    { name: 'labels too large', status: 400, body: body('labels-too-large'), code: 7, msg: 'create endpoint: labels-too-large: why' },
    { name: 'an address in use', status: 409, body: body('ip-in-use'), code: 100, msg: 'create endpoint: ip-in-use: why' },
    { name: 'a bug', status: 500, body: body('internal'), code: 100, msg: 'create endpoint: internal: why' },
    { name: 'an answer without a body', status: 502, body: undefined, code: 11, msg: 'create endpoint: http-502: HTTP 502' },
  ])('$name → code $code', ({ status, body: b, code, msg }) => {
    const e = cniErrorFromAgent('create endpoint', status, b);
    expect({ code: e.code, msg: e.message }).toEqual({ code, msg });
  });

  it('prints an error result in the configuration\'s version, an unforeseen error as 999', () => {
    expect(errorResult('0.4.0', new CniError(11, 'later', 'details'))).toEqual({ cniVersion: '0.4.0', code: 11, msg: 'later', details: 'details' });
    expect(errorResult('1.0.0', new TypeError('boom'))).toEqual({ cniVersion: '1.0.0', code: 999, msg: 'boom' });
  });
});

describe('CHECK', () => {
  const addresses = { ipv4: parseIp('10.250.0.2'), ipv6: undefined };
  const endpoint = {
    id: 3, state: 'ready', addressing: { ipv4: '10.250.0.2' }, 'interface-index': 6, mac: '56:36:6e:d8:f1:fc', 'host-mac': 'FA:A8:A8:71:95:CF',
    datapath: { 'in-sync': true, problems: [] },
  };

  it('passes for the endpoint ADD made', () => {
    expect(() => checkEndpoint(endpoint, addresses, LINKS)).not.toThrow();
  });

  it.each([
    { name: 'another address', ep: { ...endpoint, addressing: { ipv4: '10.250.0.3' } }, msg: 'endpoint addressing.ipv4 is "10.250.0.3", expected "10.250.0.2"' },
    { name: 'an extra IPv6 address', ep: { ...endpoint, addressing: { ipv4: '10.250.0.2', ipv6: 'fd00::2' } }, msg: 'endpoint addressing.ipv6 is "fd00::2", expected null' },
    { name: 'a recreated veth', ep: { ...endpoint, 'interface-index': 9 }, msg: 'endpoint interface-index is 9, expected 6' },
    { name: 'another MAC', ep: { ...endpoint, mac: '02:00:00:00:00:01' }, msg: 'endpoint mac is "02:00:00:00:00:01", expected "56:36:6e:d8:f1:fc"' },
    { name: 'not ready', ep: { ...endpoint, state: 'regenerating' }, msg: 'endpoint state is "regenerating", expected "ready"' },
    {
      name: 'an entry changed behind the agent',
      ep: { ...endpoint, datapath: { 'in-sync': false, problems: ['cilium_lxc entry 0a fa is missing'] } },
      msg: "the node's maps do not hold the endpoint as written: cilium_lxc entry 0a fa is missing",
    },
    { name: 'an agent that did not check its maps', ep: { ...endpoint, datapath: undefined }, msg: "the node's maps do not hold the endpoint as written: the agent did not check them" },
  ])('fails with code 101 for $name', ({ ep, msg }) => {
    expect(cniFailure(() => checkEndpoint(ep, addresses, LINKS))).toEqual({ code: 101, msg });
  });
});
