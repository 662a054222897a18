// `ip -o monitor link` lines as iproute2 6.1 prints them (captured while a veth joined a bridge and
// went), read by the bridge port guard.
import { describe, expect, it } from 'vitest';
import { parseLinkEvent } from '../../../src/datapath/bridge-port-guard.js';

describe('parseLinkEvent', () => {
  it.each([
    {
      name: 'a new veth, not yet a port',
      line: '100: rdg-a@rdg-b: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN group default \\    link/ether 5e:b7:3f:98:22:7d brd ff:ff:ff:ff:ff:ff',
      want: { deleted: false, ifindex: 100, ifname: 'rdg-a', master: undefined },
    },
    {
      name: 'the veth made a port of the bridge',
      line: '100: rdg-a@rdg-b: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue master rdg-br state LOWERLAYERDOWN group default \\    link/ether 5e:b7:3f:98:22:7d brd ff:ff:ff:ff:ff:ff',
      want: { deleted: false, ifindex: 100, ifname: 'rdg-a', master: 'rdg-br' },
    },
    {
      name: 'the port leaving the bridge (reported as Deleted)',
      line: 'Deleted 100: rdg-a@NONE: <BROADCAST,MULTICAST> mtu 1500 master rdg-br state DOWN \\    link/ether 5e:b7:3f:98:22:7d',
      want: { deleted: true, ifindex: 100, ifname: 'rdg-a', master: 'rdg-br' },
    },
    {
      name: 'the bridge itself',
      line: '101: rdg-br: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 4a:92:ed:99:3f:b3 brd ff:ff:ff:ff:ff:ff',
      want: { deleted: false, ifindex: 101, ifname: 'rdg-br', master: undefined },
    },
  ])('reads $name', ({ line, want }) => {
    expect(parseLinkEvent(line)).toEqual(want);
  });

  it('ignores lines that are not link events', () => {
    expect(parseLinkEvent('')).toBeUndefined();
    expect(parseLinkEvent('[LINK]something else')).toBeUndefined();
  });
});
