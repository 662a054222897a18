// Chunked revisions on the agent: a revision is applied only once its last chunk arrived, chunks
// re-sent after the control plane hibernated are not applied twice, and a new session starts over.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { FeedBatch, FeedEvent } from '../../../src/core/feed.js';
import { MemoryBackend } from '../../../src/datapath/backends/memory.js';
import { IPCACHE_MAP } from '../../../src/datapath/maps.js';
import { decodeIpcacheKey, decodeIpcacheValue } from '../../../src/datapath/layout/ipcache.js';
import { Agent } from '../../../src/shim/agent/agent.js';
import { RevisionAssembler } from '../../../src/shim/agent/chunks.js';
import { AgentMetrics } from '../../../src/shim/agent/metrics.js';
import { StateFile } from '../../../src/shim/agent/state-file.js';

const prefix = (i: number): FeedEvent => ({ type: 'prefix-upsert', prefix: `203.0.113.${i}/32`, identity: 16777216 + i });
const chunk = (revision: number, index: number, events: FeedEvent[], last = false): FeedBatch =>
  ({ revision, events, chunk: index, ...(last ? {} : { last: false as const }) });

describe('RevisionAssembler', () => {
  it.each([
    { name: 'a whole revision passes as it is', batches: [{ revision: 5, events: [prefix(1)] }], want: [[5, [1]]] },
    { name: 'chunks are held until the last', batches: [chunk(5, 0, [prefix(1)]), chunk(5, 1, [prefix(2)]), chunk(5, 2, [prefix(3)], true)], want: [[5, [1, 2, 3]]] },
    { name: 'indices may skip (chunks with nothing for this node)', batches: [chunk(5, 1, [prefix(1)]), chunk(5, 3, [], true)], want: [[5, [1]]] },
    { name: 'a chunk sent again is ignored', batches: [chunk(5, 0, [prefix(1)]), chunk(5, 1, [prefix(2)]), chunk(5, 1, [prefix(2)]), chunk(5, 2, [], true)], want: [[5, [1, 2]]] },
    { name: 'an incomplete revision yields nothing', batches: [chunk(5, 0, [prefix(1)]), chunk(5, 1, [prefix(2)])], want: [] },
    { name: 'revisions follow each other', batches: [chunk(5, 0, [prefix(1)]), chunk(5, 1, [], true), { revision: 6, events: [prefix(2)] }], want: [[5, [1]], [6, [2]]] },
  ])('$name', ({ batches, want }) => {
    const assembler = new RevisionAssembler();
    const complete = batches.map((b) => assembler.add(b)).filter((b): b is FeedBatch => b !== undefined);
    expect(complete.map((b) => [b.revision, b.events.map((e) => Number((e as { prefix: string }).prefix.split('.')[3]!.split('/')[0]))])).toEqual(want);
  });

  it('reports the chunks it holds of the next revision, and forgets them on reset', () => {
    const assembler = new RevisionAssembler();
    assembler.add(chunk(5, 0, [prefix(1)]));
    assembler.add(chunk(5, 2, [prefix(2)]));
    expect(assembler.held(4)).toBe(3);
    expect(assembler.held(5)).toBe(0);
    assembler.reset();
    expect(assembler.held(4)).toBe(0);
  });
});

describe('agent applying chunked revisions', () => {
  it('writes a revision into the maps only once its last chunk arrived, then moves its revision on', () => {
    const backend = new MemoryBackend();
    const agent = new Agent({
      url: 'http://127.0.0.1:9', cluster: 'c', node: 'node-a', token: 'admin', leaseSeconds: 60, backend,
      stateFile: new StateFile(mkdtempSync(join(tmpdir(), 'agent-chunks-'))), metrics: new AgentMetrics(), logger: pino({ level: 'silent' }),
    });
    const ipcache = () => backend.entries(IPCACHE_MAP).map(([k, v]) => [decodeIpcacheKey(k).prefix, decodeIpcacheValue(v).identity]);

    agent.applyBatches([chunk(1, 0, [prefix(1)]), chunk(1, 1, [prefix(2)])], 1);
    expect(ipcache()).toEqual([]);
    expect(agent.appliedRevision).toBe(0);

    agent.applyBatches([chunk(1, 2, [prefix(3)], true), { revision: 2, events: [{ type: 'prefix-delete', prefix: '203.0.113.1/32' }] }], 2);
    expect(ipcache()).toEqual([['203.0.113.2/32', 16777218], ['203.0.113.3/32', 16777219]]);
    expect(agent.appliedRevision).toBe(2);
  });
});
