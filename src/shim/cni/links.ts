// The veth pair of an attachment, from `ip -j link show` inside the pod's network namespace and on
// the host: the container side's MAC and its peer's index, then the host side's name and MAC, as
// Cilium's generic-veth chaining reads them. Pure: takes the JSON text the commands printed.
import { CNI_ERROR, CniError } from './errors.js';

/** The fields of one `ip -j link` entry the plugin reads. */
interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  /** For a veth: its peer's index (in the namespace `link_netnsid` names). */
  link_index?: number;
}

export interface AttachmentLinks {
  containerMac: string;
  hostIfindex: number;
  hostIfname: string;
  hostMac: string;
}

export function parseIpLinks(json: string): IpLink[] {
  const links = JSON.parse(json) as unknown;
  if (!Array.isArray(links)) throw new Error('ip -j link: not a JSON array');
  return links as IpLink[];
}

/** Pairs the container interface with its host-side peer; error 102 when either is missing. */
export function attachmentLinks(containerLinks: readonly IpLink[], hostLinks: readonly IpLink[], ifname: string): AttachmentLinks {
  const inside = containerLinks.find((l) => l.ifname === ifname);
  if (!inside) throw new CniError(CNI_ERROR.linkNotFound, `no interface ${ifname} in the pod's network namespace`);
  if (inside.link_index === undefined || inside.address === undefined) {
    throw new CniError(CNI_ERROR.linkNotFound, `${ifname} in the pod's network namespace is not a veth (no peer): idplane-cni attaches veth pairs`);
  }
  const peer = hostLinks.find((l) => l.ifindex === inside.link_index);
  if (!peer || peer.address === undefined) {
    throw new CniError(CNI_ERROR.linkNotFound, `the host-side peer of ${ifname} (ifindex ${inside.link_index}) is not in the host's namespace`);
  }
  return { containerMac: inside.address, hostIfindex: peer.ifindex, hostIfname: peer.ifname, hostMac: peer.address };
}
