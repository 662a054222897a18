// When the agent acknowledges what it applied from its feed socket. Every ack is an event the
// cluster's Durable Object handles for that one socket; with an ack per message per node, acks
// were about 40 % of the object's fan-out work (bench: 100 sockets). So the agent acknowledges
// lazily, at most ACK_DELAY_MS after the first unacknowledged message, and at once when the
// object asks (`"ack-now": true`: a create waits for the nodes to apply it) or when what it holds
// unacknowledged nears the object's send window (it stops sending at 2 MiB unacknowledged).

/**
 * The longest an applied message waits for its ack when nobody waits on it: longer than the gap
 * between a busy cluster's commits, so that one ack covers several of them; nothing but flow
 * control (ACK_BYTES) and `wait-for-nodes` (`ack-now`) needs it sooner.
 */
export const ACK_DELAY_MS = 250;
/** Unacknowledged message bytes at which the agent acks at once: a quarter of the object's window. */
export const ACK_BYTES = 512 * 1024;

export interface AckTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export class AckPacer {
  private timer: unknown;
  private bytes = 0;

  constructor(
    /** Sends the ack of everything applied so far. */
    private readonly sendAck: () => void,
    private readonly timers: AckTimers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    private readonly delayMs = ACK_DELAY_MS,
  ) {}

  /** A message of `bytes` was applied; `urgent`: the object asked for its ack at once. */
  applied(bytes: number, urgent: boolean): void {
    this.bytes += bytes;
    if (urgent || this.bytes >= ACK_BYTES) return this.flush();
    this.timer ??= this.timers.setTimeout(() => this.flush(), this.delayMs);
  }

  /** Acks now what was applied (nothing to do when all is acknowledged). */
  flush(): void {
    this.stop();
    if (this.bytes === 0) return;
    this.bytes = 0;
    this.sendAck();
  }

  /** Drops the pending ack: the session is over (the next one starts from what was applied). */
  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
