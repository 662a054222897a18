// The feed's pure rules: which events of a chunk a node receives, and reader positions.
import { describe, expect, it } from 'vitest';
import { comparePositions, eventsForNode, excludedForNode, positionAfter, type FeedEvent, type FeedTargets } from '../../../src/core/feed.js';

const del = (identity: number): FeedEvent => ({ type: 'policy-delete', identity });
const shared: FeedEvent = { type: 'prefix-delete', prefix: '203.0.113.0/24' };
const events = [shared, del(1), del(2)];
const targets: FeedTargets = [[1, ['n1']], [2, ['n1', 'n2']]];

describe('eventsForNode', () => {
  it.each([
    { name: 'admin and reader principals see every event', node: null, want: events },
    { name: 'a node gets shared events and those targeted at it', node: 'n1', want: events },
    { name: 'and not those targeted elsewhere', node: 'n2', want: [shared, del(2)] },
    { name: 'a node no event targets gets only shared ones', node: 'n3', want: [shared] },
  ])('$name', ({ node, want }) => {
    expect(eventsForNode(events, targets, node)).toEqual(want);
  });

  it('passes a chunk without targets through unchanged', () => {
    expect(eventsForNode(events, null, 'n3')).toBe(events);
  });
});

describe('excludedForNode', () => {
  it.each([
    { name: 'admin and reader principals miss nothing', node: null, want: [] },
    { name: 'a node every targeted event names misses nothing', node: 'n1', want: [] },
    { name: 'a node misses the events targeted elsewhere', node: 'n2', want: [1] },
    { name: 'a node no event targets misses every targeted one', node: 'n3', want: [1, 2] },
  ])('$name', ({ node, want }) => {
    expect(excludedForNode(targets, node)).toEqual(want);
  });

  it('gives nodes the same key exactly when they see the same events', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'];
    const key = (n: string) => excludedForNode(targets, n).join();
    for (const a of nodes) for (const b of nodes) expect(key(a) === key(b)).toBe(JSON.stringify(eventsForNode(events, targets, a)) === JSON.stringify(eventsForNode(events, targets, b)));
  });
});

describe('positions', () => {
  it.each([
    { name: 'a whole revision', batch: { revision: 7 }, want: { revision: 7, chunk: 0 } },
    { name: 'the last chunk completes its revision', batch: { revision: 7, chunk: 3 }, want: { revision: 7, chunk: 0 } },
    { name: 'a chunk before the last', batch: { revision: 7, chunk: 3, last: false as const }, want: { revision: 6, chunk: 4 } },
  ])('after $name', ({ batch, want }) => {
    expect(positionAfter(batch)).toEqual(want);
  });

  it('orders by revision, then chunk', () => {
    const sorted = [{ revision: 6, chunk: 4 }, { revision: 7, chunk: 0 }, { revision: 6, chunk: 0 }].sort(comparePositions);
    expect(sorted).toEqual([{ revision: 6, chunk: 0 }, { revision: 6, chunk: 4 }, { revision: 7, chunk: 0 }]);
  });
});
