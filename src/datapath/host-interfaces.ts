// Whether a pod's host-side interface still exists in this (the host's) network namespace, read
// from sysfs. When a pod's network namespace goes, its veth pair goes with it, so a missing host
// side means the pod is gone even if its CNI DEL never ran.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SYSFS_NET = '/sys/class/net';

/** The interface's index now; undefined when there is no such interface. */
export function ifindexOf(name: string, dir = SYSFS_NET): number | undefined {
  try {
    return Number(readFileSync(join(dir, name, 'ifindex'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * True while an interface with this name (and index, when both are known) exists; false when it
 * does not (a name now on another index is another pod's interface); undefined when the endpoint
 * names neither, or sysfs cannot be read: then nobody can tell, and nothing is removed.
 */
export function hostInterfaceExists(name: string | undefined, index: number | undefined, sysfs = SYSFS_NET): boolean | undefined {
  let names: string[];
  try {
    names = readdirSync(sysfs);
  } catch {
    return undefined;
  }
  if (name !== undefined) {
    if (!names.includes(name)) return false;
    return index === undefined || ifindexOf(name, sysfs) === index;
  }
  if (index !== undefined) return names.some((n) => ifindexOf(n, sysfs) === index);
  return undefined;
}
