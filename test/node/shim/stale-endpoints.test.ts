// Endpoints whose CNI DEL never ran: found by their host interface being gone, removed only after
// the grace period, never when nobody can tell (no interface named, sysfs unreadable).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/api/endpoints.js';
import { hostInterfaceExists } from '../../../src/datapath/host-interfaces.js';
import { ApiError, type ApiClient } from '../../../src/shim/api-client.js';
import { StaleEndpointCollector } from '../../../src/shim/agent/stale-endpoints.js';

/** A sysfs-like directory with these interfaces (name → ifindex). */
function fakeSysfs(interfaces: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), 'idplane-sysfs-'));
  for (const [name, index] of Object.entries(interfaces)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'ifindex'), `${index}\n`);
  }
  return dir;
}

describe('hostInterfaceExists', () => {
  const sysfs = fakeSysfs({ lo: 1, lxc1: 21, lxc2: 22 });
  it.each<[string, string | undefined, number | undefined, boolean | undefined]>([
    ['name and index match', 'lxc1', 21, true],
    ['name alone', 'lxc2', undefined, true],
    ['name gone', 'lxc9', 29, false],
    ['name now on another index (another pod)', 'lxc1', 99, false],
    ['index alone, present', undefined, 22, true],
    ['index alone, gone', undefined, 23, false],
    ['neither: cannot tell', undefined, undefined, undefined],
  ])('%s', (_name, name, index, want) => {
    expect(hostInterfaceExists(name, index, sysfs)).toBe(want);
  });
  it('cannot tell when sysfs cannot be read', () => {
    expect(hostInterfaceExists('lxc1', 21, join(sysfs, 'missing'))).toBeUndefined();
  });
});

const ep = (id: number, extra: Partial<Endpoint> = {}) => ({ id, node: 'n1', ...extra }) as Endpoint;

function harness(endpoints: Endpoint[], present: Set<number>) {
  let t = 1_000_000;
  const deleted: string[] = [];
  const api = {
    listNodeEndpoints: async () => endpoints,
    request: async (_method: string, path: string) => {
      const ref = decodeURIComponent(path.split('/').pop()!);
      if (deleted.includes(ref)) throw new ApiError(404, 'endpoint-not-found', 'gone');
      deleted.push(ref);
      return {};
    },
  } as unknown as ApiClient;
  const collector = new StaleEndpointCollector({
    node: 'n1',
    api: () => api,
    interfaceExists: (_name, index) => (index === undefined ? undefined : present.has(index)),
    graceMs: 60_000,
    now: () => t,
    logger: pino({ level: 'silent' }),
  });
  return { collector, deleted, advance: (ms: number) => void (t += ms) };
}

describe('StaleEndpointCollector', () => {
  it('removes an endpoint only once its interface has been gone for the grace period', async () => {
    const present = new Set([11, 12]);
    const h = harness([ep(1, { 'interface-index': 11, 'container-id': 'c1', 'container-interface-name': 'eth0' }), ep(2, { 'interface-index': 12 }), ep(3)], present);
    expect(await h.collector.sweep()).toEqual([]);
    present.delete(11);
    present.delete(12);
    expect(await h.collector.sweep()).toEqual([]); // first seen missing
    h.advance(59_999);
    expect(await h.collector.sweep()).toEqual([]);
    h.advance(1);
    expect((await h.collector.sweep()).map((e) => e.id)).toEqual([1, 2]);
    // By its CNI attachment when it has one (an ID may be reused), else by ID; never endpoint 3.
    expect(h.deleted).toEqual(['cni-attachment-id:c1:eth0', '2']);
  });

  it('an interface that comes back restarts the grace period', async () => {
    const present = new Set<number>();
    const h = harness([ep(1, { 'interface-index': 11 })], present);
    await h.collector.sweep();
    h.advance(50_000);
    present.add(11);
    await h.collector.sweep();
    present.delete(11);
    h.advance(50_000);
    expect(await h.collector.sweep()).toEqual([]);
    h.advance(59_999);
    expect(await h.collector.sweep()).toEqual([]);
    h.advance(1);
    expect((await h.collector.sweep()).map((e) => e.id)).toEqual([1]);
  });

  it('an endpoint deleted between the listing and the removal (its DEL ran late) is not counted', async () => {
    const h = harness([ep(1, { 'interface-index': 11 })], new Set());
    await h.collector.sweep();
    h.deleted.push('1');
    h.advance(60_000);
    expect(await h.collector.sweep()).toEqual([]);
  });
});
