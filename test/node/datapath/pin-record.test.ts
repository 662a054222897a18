// The record of the agent's own pins: what `cleanup` may remove. It survives the process, skips a
// line a crash cut short, stays bounded however many pins come and go, and takes over the record
// of an earlier agent.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PinRecord } from '../../../src/datapath/backends/pin-record.js';

const stateDir = () => mkdtempSync(join(tmpdir(), 'pin-record-'));
const pin = (i: number) => ({ path: `/sys/fs/bpf/tc/globals/cilium_policy_v2_${String(i).padStart(5, '0')}`, mapId: 1000 + i });

describe('PinRecord', () => {
  it('lists what was added and not removed, in another process too', () => {
    const dir = stateDir();
    const record = new PinRecord(dir);
    record.add(pin(1));
    record.add(pin(2));
    record.add({ ...pin(1), mapId: 5000 }); // pinned again: the newer map
    record.remove(pin(2).path);
    record.remove('/not/recorded');
    expect(new PinRecord(dir).list()).toEqual([{ ...pin(1), mapId: 5000 }]);
  });

  it('skips a line cut short by a crash', () => {
    const dir = stateDir();
    new PinRecord(dir).add(pin(1));
    appendFileSync(join(dir, 'pinned-maps.jsonl'), '{"path":"/sys/fs/bpf/tc/globals/cil');
    expect(new PinRecord(dir).list()).toEqual([pin(1)]);
  });

  it('keeps its log bounded by the live pins while endpoints come and go', () => {
    const dir = stateDir();
    const record = new PinRecord(dir);
    for (let i = 0; i < 1000; i++) {
      record.add(pin(i));
      if (i >= 10) record.remove(pin(i - 10).path);
    }
    const lines = readFileSync(join(dir, 'pinned-maps.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(2 * 10 + 64 + 1);
    expect(new PinRecord(dir).list()).toEqual(Array.from({ length: 10 }, (_v, k) => pin(990 + k)));
  });

  it("takes over an earlier agent's record (a JSON array), and clear forgets everything", () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'pinned-maps.json'), JSON.stringify([pin(1), pin(2)]));
    const record = new PinRecord(dir);
    record.add(pin(3));
    expect(existsSync(join(dir, 'pinned-maps.json'))).toBe(false);
    expect(new PinRecord(dir).list()).toEqual([pin(1), pin(2), pin(3)]);
    record.clear();
    expect(new PinRecord(dir).list()).toEqual([]);
  });
});
