// Attaches the reference datapath (./bpf/reference.c) to a pod's host-side veth, and takes it off.
// The object's maps are placeholders: bpftool loads it with each one replaced by a pinned map
// (`map name <placeholder> pinned <path>`), which fails when the pin is missing, so the loader
// never creates a map the agent did not write. Before that each pin's layout is checked against
// the agent's own (a layout drift fails loudly, naming both layouts). The programs are attached
// with `tc filter replace` on a clsact qdisc (Debian 12's iproute2 cannot attach tcx): replacing
// swaps a program without the gap that a delete then add would leave open.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { MapBackend } from './backends/backend.js';
import { BpfSyscalls } from './backends/bpf-syscall.js';
import { ifindexOf } from './host-interfaces.js';
import { DATAPATH_COUNTERS_MAPS, endpointMap, endpointOfMap, IPCACHE_MAP, layoutMismatch, POLICY_MAPS, type MapRef } from './maps.js';

const run = promisify(execFile);

/** The filter priority and handle the programs take on each hook, so that replace finds them. */
const FILTER = ['pref', '1', 'handle', '1', 'bpf'];
/** Program of the object (its function name) on each clsact hook of the host veth. */
const HOOKS = [
  { hook: 'egress', program: 'to_container' },
  { hook: 'ingress', program: 'from_container' },
] as const;

export class DatapathError extends Error {
  override name = 'DatapathError';
}

/** Counters of one endpoint, as the program keeps them: packets policed, by direction and verdict. */
export interface DatapathCounters {
  endpoint: number;
  direction: 'ingress' | 'egress';
  verdict: 'allow' | 'drop';
  packets: number;
}

export class ReferenceDatapath {
  private readonly sys = new BpfSyscalls();
  /** Interfaces (by index: a recreated veth is another one) with the reference programs on them. */
  private readonly enforced = new Set<number>();
  /** Interfaces with the guard's drop-all program, waiting for their endpoint. */
  private readonly guarded = new Set<number>();
  /** The tail of each interface's operations: attach, guard and detach of one interface never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly o: {
      /** The compiled object (npm run build:bpf). */
      object: string;
      /** Where the agent pins its maps. */
      pinDir: string;
      /** A directory on bpffs for the programs while they are being attached. */
      loadDir: string;
      backend: MapBackend;
    },
  ) {}

  /** Fails unless the map is pinned, with the agent's layout. */
  private requirePinned(map: MapRef): string {
    const path = `${this.o.pinDir}/${map.name}`;
    const fd = this.sys.objGet(path);
    if (fd === undefined) throw new DatapathError(`${path} is not pinned: the datapath is attached only to an endpoint whose maps the agent wrote`);
    try {
      const mismatch = layoutMismatch(map, path, this.sys.mapInfo(fd));
      if (mismatch !== undefined) throw new DatapathError(mismatch);
    } finally {
      this.sys.close(fd);
    }
    return path;
  }

  /**
   * Loads the programs with the endpoint's maps and attaches them to `ifname`, both hooks
   * replaced in place. Throws (attaching nothing new) when a map is missing or of another layout.
   */
  attach(endpointId: number, ifname: string): Promise<void> {
    return this.serial(ifname, () => this.attachNow(endpointId, ifname));
  }

  private async attachNow(endpointId: number, ifname: string): Promise<void> {
    const ipcache = this.requirePinned(IPCACHE_MAP);
    const policy = this.requirePinned(endpointMap(POLICY_MAPS, endpointId));
    const countersMap = endpointMap(DATAPATH_COUNTERS_MAPS, endpointId);
    this.liveCounters();
    this.o.backend.openMap(countersMap);
    const counters = this.requirePinned(countersMap);
    const dir = `${this.o.loadDir}/ep${endpointId}-${process.pid}-${Date.now()}`;
    mkdirSync(this.o.loadDir, { recursive: true });
    try {
      await tool('bpftool', ['prog', 'loadall', this.o.object, dir, 'type', 'classifier',
        'map', 'name', 'ipcache', 'pinned', ipcache, 'map', 'name', 'policy', 'pinned', policy, 'map', 'name', 'counters', 'pinned', counters]);
      await tool('tc', ['qdisc', 'replace', 'dev', ifname, 'clsact']);
      for (const { hook, program } of HOOKS) {
        await tool('tc', ['filter', 'replace', 'dev', ifname, hook, ...FILTER, 'direct-action', 'object-pinned', `${dir}/${program}`]);
      }
      const index = ifindexOf(ifname);
      if (index !== undefined) {
        this.guarded.delete(index);
        this.enforced.add(index);
      }
    } finally {
      // The attached programs are held by their filters; the pins were only for tc to find them.
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Takes the programs off `ifname` (if it still exists) and removes the endpoint's counters. */
  detach(endpointId: number, ifname: string | undefined): Promise<void> {
    return this.serial(ifname ?? '', () => this.detachNow(endpointId, ifname));
  }

  private async detachNow(endpointId: number, ifname: string | undefined): Promise<void> {
    if (ifname !== undefined) {
      const index = ifindexOf(ifname);
      if (index !== undefined) this.enforced.delete(index);
      for (const { hook } of HOOKS) {
        await tool('tc', ['filter', 'delete', 'dev', ifname, hook, ...FILTER]).catch((e: unknown) => {
          // The interface went with its pod, or nothing was attached: nothing to take off.
          if (!/Cannot find device|No such file|Cannot find specified filter|Invalid handle|does not exist/i.test((e as Error).message)) throw e;
        });
      }
    }
    this.o.backend.removeMap(endpointMap(DATAPATH_COUNTERS_MAPS, endpointId));
  }

  /**
   * The guard: drop-all on both hooks of a new bridge port, unless the reference programs are
   * already there. Attached with the handle they use, so that their attach replaces it in place.
   * Returns false when the interface already had either program (or is gone).
   */
  guard(ifname: string, ifindex: number): Promise<boolean> {
    return this.serial(ifname, async () => {
      if (this.enforced.has(ifindex) || this.guarded.has(ifindex) || ifindexOf(ifname) !== ifindex) return false;
      // drop-all.o has no maps: tc loads it itself, nothing is pinned.
      const object = `${dirname(this.o.object)}/drop-all.o`;
      await tool('tc', ['qdisc', 'replace', 'dev', ifname, 'clsact']);
      for (const { hook } of HOOKS) await tool('tc', ['filter', 'replace', 'dev', ifname, hook, ...FILTER, 'direct-action', 'object-file', object, 'section', 'tc']);
      this.guarded.add(ifindex);
      return true;
    });
  }

  /** Forgets an interface that is gone (its index is never the index of a new one). */
  forget(ifindex: number): void {
    this.enforced.delete(ifindex);
    this.guarded.delete(ifindex);
  }

  private serial<T>(ifname: string, op: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(ifname) ?? Promise.resolve()).then(op, op);
    const tail = run.catch(() => undefined);
    this.queues.set(ifname, tail);
    void tail.then(() => this.queues.get(ifname) === tail && this.queues.delete(ifname));
    return run;
  }

  /** Whether the endpoint has the datapath (its counters map is pinned). */
  attached(endpointId: number): boolean {
    return this.o.backend.pinnedMaps(DATAPATH_COUNTERS_MAPS).some((m) => m.name === endpointMap(DATAPATH_COUNTERS_MAPS, endpointId).name);
  }

  /**
   * Counters maps of endpoints whose policy map the agent has removed (the endpoint went without a
   * local delete: the stale-endpoint sweep, another client, a restart) are removed; the others'
   * endpoint IDs are returned.
   */
  private liveCounters(): number[] {
    const policies = new Set(this.o.backend.pinnedMaps(POLICY_MAPS).map((m) => endpointOfMap(POLICY_MAPS, m.name)));
    const live: number[] = [];
    for (const map of this.o.backend.pinnedMaps(DATAPATH_COUNTERS_MAPS)) {
      const endpoint = endpointOfMap(DATAPATH_COUNTERS_MAPS, map.name)!;
      if (policies.has(endpoint)) live.push(endpoint);
      else this.o.backend.removeMap(map);
    }
    return live;
  }

  /** Every attached endpoint's counters (those of endpoints gone are removed on the way). */
  counters(): DatapathCounters[] {
    const out: DatapathCounters[] = [];
    for (const endpoint of this.liveCounters()) {
      const map = endpointMap(DATAPATH_COUNTERS_MAPS, endpoint);
      for (const [key, value] of this.o.backend.entries(map)) {
        const index = Buffer.from(key).readUInt32LE(0);
        out.push({
          endpoint,
          direction: index >> 1 ? 'egress' : 'ingress',
          verdict: index & 1 ? 'drop' : 'allow',
          packets: Number(Buffer.from(value).readBigUInt64LE(0)),
        });
      }
    }
    return out;
  }
}

async function tool(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { timeout: 10_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new DatapathError(`${cmd} ${args.slice(0, 3).join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}
