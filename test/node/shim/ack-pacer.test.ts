// The agent acknowledges its feed lazily, and at once when the control plane asks or its window
// fills: fewer ack events for the cluster's object, no wait for a create that waits for nodes.
import { describe, expect, it } from 'vitest';
import { ACK_BYTES, ACK_DELAY_MS, AckPacer, type AckTimers } from '../../../src/shim/agent/ack-pacer.js';

/** Timers that fire only when the test moves time. */
function manualTimers() {
  let now = 0;
  let next = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: AckTimers = {
    setTimeout: (fn, ms) => {
      pending.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [h, t] of [...pending]) if (t.at <= now) {
      pending.delete(h);
      t.fn();
    }
  };
  return { timers, advance, pending: () => pending.size };
}

describe('AckPacer', () => {
  it('acks once within the delay for the messages applied meanwhile', () => {
    const t = manualTimers();
    let acks = 0;
    const pacer = new AckPacer(() => acks++, t.timers);
    pacer.applied(100, false);
    t.advance(ACK_DELAY_MS / 2);
    pacer.applied(100, false);
    pacer.applied(100, false);
    expect(acks).toBe(0);
    t.advance(ACK_DELAY_MS / 2);
    expect(acks).toBe(1);
    t.advance(10 * ACK_DELAY_MS);
    expect([acks, t.pending()]).toEqual([1, 0]);
  });

  it('acks at once when asked, or when the unacknowledged bytes reach ACK_BYTES', () => {
    const t = manualTimers();
    let acks = 0;
    const pacer = new AckPacer(() => acks++, t.timers);
    pacer.applied(100, false);
    pacer.applied(100, true);
    expect([acks, t.pending()]).toEqual([1, 0]);
    pacer.applied(ACK_BYTES - 1, false);
    expect(acks).toBe(1);
    pacer.applied(1, false);
    expect([acks, t.pending()]).toEqual([2, 0]);
  });

  it('sends nothing when all is acknowledged, and nothing after the session stops', () => {
    const t = manualTimers();
    let acks = 0;
    const pacer = new AckPacer(() => acks++, t.timers);
    pacer.flush();
    expect(acks).toBe(0);
    pacer.applied(100, false);
    pacer.stop();
    t.advance(10 * ACK_DELAY_MS);
    expect(acks).toBe(0);
  });
});
