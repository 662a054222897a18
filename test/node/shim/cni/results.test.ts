// prevResult: the pod's addresses on its container interface, and the result handed on unchanged
// or converted between the 0.4.0 and 1.0.0 formats as libcni converts them.
import { describe, expect, it } from 'vitest';
import { cniFailure } from './cni-failure.js';
import { containerAddresses, parsePrevResult, resultForVersion } from '../../../../src/shim/cni/prev-result.js';

/** What the bridge plugin (containernetworking-plugins 1.1.1) answers, in 1.0.0 and 0.4.0. */
const BRIDGE_100 = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni0', mac: '9a:ed:22:2e:6e:cf' },
    { name: 'vethdfc4a3d9', mac: 'fa:a8:a8:71:95:cf' },
    { name: 'eth0', mac: '56:36:6e:d8:f1:fc', sandbox: '/var/run/netns/p1' },
  ],
  ips: [
    { interface: 2, address: '10.250.0.2/24', gateway: '10.250.0.1' },
    { interface: 2, address: 'fd00:0:0::2/64', gateway: 'fd00::1' },
  ],
  dns: {},
};
const BRIDGE_040 = {
  ...BRIDGE_100,
  cniVersion: '0.4.0',
  ips: [
    { interface: 2, address: '10.250.0.2/24', gateway: '10.250.0.1', version: '4' },
    { interface: 2, address: 'fd00:0:0::2/64', gateway: 'fd00::1', version: '6' },
  ],
};

describe('containerAddresses', () => {
  it("takes the container interface's first address of each family, in canonical form", () => {
    const got = containerAddresses(parsePrevResult(BRIDGE_100), 'eth0');
    expect([got.ipv4?.text, got.ipv6?.text]).toEqual(['10.250.0.2', 'fd00::2']);
  });

  it.each([
    { name: 'an IPv4-only pod', ips: [{ interface: 2, address: '10.250.0.9/24' }, { interface: 2, address: '10.250.0.10/24' }], want: ['10.250.0.9', undefined] },
    { name: "the host side's address left out", ips: [{ interface: 0, address: '10.250.0.1/24' }, { interface: 2, address: '10.250.0.3/24' }], want: ['10.250.0.3', undefined] },
    { name: 'an IPv6-only pod', ips: [{ interface: 2, address: 'fd00::7/64' }], want: [undefined, 'fd00::7'] },
  ])('$name', ({ ips, want }) => {
    const got = containerAddresses(parsePrevResult({ ...BRIDGE_100, ips }), 'eth0');
    expect([got.ipv4?.text, got.ipv6?.text]).toEqual(want);
  });

  it.each([
    { name: 'no prevResult (not chained)', raw: undefined, ifname: 'eth0', code: 7, msg: /^no prevResult: idplane-cni is a chained plugin/ },
    { name: 'no such container interface', raw: BRIDGE_100, ifname: 'net1', code: 7, msg: /^prevResult lists no container interface net1/ },
    { name: 'an interface on the host, not in a sandbox', raw: BRIDGE_100, ifname: 'cni0', code: 7, msg: /^prevResult lists no container interface cni0/ },
    { name: 'no address on it', raw: { ...BRIDGE_100, ips: [] }, ifname: 'eth0', code: 7, msg: /^prevResult gives eth0 no address/ },
    { name: 'an address that is none', raw: { ...BRIDGE_100, ips: [{ interface: 2, address: '10.250.0/24' }] }, ifname: 'eth0', code: 6, msg: /^prevResult: "10.250.0\/24" is not an address/ },
    { name: 'ips that are no list', raw: { ...BRIDGE_100, ips: {} }, ifname: 'eth0', code: 6, msg: /^prevResult: prevResult\.ips: / },
    { name: 'an interface index that is negative', raw: { ...BRIDGE_100, ips: [{ interface: -1, address: '10.0.0.1/8' }] }, ifname: 'eth0', code: 6, msg: /^prevResult: prevResult\.ips\.0\.interface: / },
  ])('refuses $name with code $code', ({ raw, ifname, code, msg }) => {
    const f = cniFailure(() => containerAddresses(parsePrevResult(raw as Record<string, unknown> | undefined), ifname));
    expect(f.code).toBe(code);
    expect(f.msg).toMatch(msg);
  });
});

describe('resultForVersion', () => {
  it.each([
    { name: '1.0.0 in 1.0.0', raw: BRIDGE_100, to: '1.0.0' as const },
    { name: '0.4.0 in 0.4.0', raw: BRIDGE_040, to: '0.4.0' as const },
  ])('hands on prevResult itself when the versions agree ($name)', ({ raw, to }) => {
    expect(resultForVersion(raw, parsePrevResult(raw), to)).toBe(raw);
  });

  it.each([
    { name: '0.4.0 → 1.0.0 drops each IP\'s version', raw: BRIDGE_040, to: '1.0.0' as const, want: BRIDGE_100 },
    { name: '1.0.0 → 0.4.0 adds it by family', raw: BRIDGE_100, to: '0.4.0' as const, want: BRIDGE_040 },
    { name: '0.3.1 → 0.4.0 (one format) changes only the version', raw: { ...BRIDGE_040, cniVersion: '0.3.1' }, to: '0.4.0' as const, want: BRIDGE_040 },
    { name: 'no cniVersion: the configuration\'s', raw: { ...BRIDGE_100, cniVersion: undefined }, to: '1.0.0' as const, want: BRIDGE_100 },
    { name: 'keys it does not know are kept', raw: { ...BRIDGE_040, routes: [{ dst: '0.0.0.0/0' }] }, to: '1.0.0' as const, want: { ...BRIDGE_100, routes: [{ dst: '0.0.0.0/0' }] } },
  ])('converts $name', ({ raw, to, want }) => {
    const clean = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
    expect(resultForVersion(clean, parsePrevResult(clean), to)).toEqual(want);
  });

  it('refuses a prevResult in a version it cannot convert (code 1)', () => {
    const raw = { ...BRIDGE_100, cniVersion: '0.2.0' };
    expect(cniFailure(() => resultForVersion(raw, parsePrevResult(raw), '1.0.0'))).toEqual({ code: 1, msg: 'prevResult has CNI version 0.2.0, which idplane-cni cannot convert to 1.0.0' });
  });
});
