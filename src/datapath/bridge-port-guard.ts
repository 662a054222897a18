// Closes most of the window a CNI chain leaves open: the bridge plugin brings a pod's veth up and
// makes it a port of its bridge before idplane-cni runs, so until the agent attaches the
// reference datapath packets would pass unpoliced. The guard follows link events
// (`ip -o monitor link`) and puts a drop-all program on every new port of one bridge as soon as
// it appears; the reference programs replace it in place (`tc filter replace`, same handle) when
// the pod's endpoint is created. What remains open: the time from the port joining the bridge to
// the guard's tc commands (reported in the log), during which the bridge plugin is still setting
// up the pod's address. Only for a bridge whose every pod uses the reference datapath: a port
// whose endpoint never asks for it stays dropped.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { ifindexOf } from './host-interfaces.js';
import type { ReferenceDatapath } from './reference-datapath.js';

export interface LinkEvent {
  deleted: boolean;
  ifindex: number;
  ifname: string;
  master: string | undefined;
}

/** One line of `ip -o monitor link`; undefined for anything else. */
export function parseLinkEvent(line: string): LinkEvent | undefined {
  const m = /^(Deleted )?(\d+): ([^:@\s]+)(?:@\S+)?: <[^>]*>(.*)$/.exec(line);
  if (!m) return undefined;
  return { deleted: m[1] !== undefined, ifindex: Number(m[2]), ifname: m[3]!, master: / master (\S+)/.exec(m[4]!)?.[1] };
}

export class BridgePortGuard {
  private child: ChildProcess | undefined;

  constructor(
    private readonly o: { bridge: string; datapath: ReferenceDatapath; logger: Logger },
  ) {}

  /** Resolves once `ip monitor` runs (events from then on are seen). */
  async start(): Promise<void> {
    const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.o.logger.error({ code, signal }, 'ip monitor link exited: new bridge ports are no longer guarded');
    });
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line, performance.now()));
  }

  private onLine(line: string, seenAt: number): void {
    const event = parseLinkEvent(line);
    if (!event) return;
    if (event.deleted) {
      // A port leaving the bridge is reported as Deleted too: forget only a link that is gone.
      if (ifindexOf(event.ifname) !== event.ifindex) this.o.datapath.forget(event.ifindex);
      return;
    }
    if (event.master !== this.o.bridge) return;
    this.o.datapath.guard(event.ifname, event.ifindex).then(
      (guarded) => guarded && this.o.logger.info({ interface: event.ifname, bridge: this.o.bridge, ms: Math.round(performance.now() - seenAt) }, 'new bridge port guarded (drop-all until its endpoint is created)'),
      (e: unknown) => this.o.logger.error({ interface: event.ifname, err: (e as Error).message }, 'guarding a new bridge port failed'),
    );
  }

  stop(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill();
  }
}
