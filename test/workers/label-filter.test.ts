// The label filter inside the Durable Object: Cilium's (Go, RE2) pattern syntax, and a pattern
// that is catastrophic for a backtracking engine costs linear time, so the DO keeps answering.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LABEL_FILTER } from '../../src/core/label-filter.js';
import { call, clusterWithNodes } from './helpers.js';

describe('label filter patterns (RE2)', () => {
  it('applies RE2 syntax such as (?i) and index-0 matching to new endpoints', async () => {
    const c = await clusterWithNodes(['node-1']);
    const patch = await call('PATCH', `${c.base}/config`, { body: { 'label-filter': [...DEFAULT_LABEL_FILTER, 'k8s:!(?i)VERSION'] } });
    expect(patch.status).toBe(200);
    const ep = await c.createEndpoint('node-1', '1', { labels: ['k8s:app=web', 'k8s:version=v2', 'k8s:app-version=1'] });
    expect(ep.body.labels.information).toEqual(['k8s:version=v2']);
    expect(ep.body.identity.labels).toContain('k8s:app-version=1');
  });

  it('answers fast with a nested-quantifier pattern on long keys, and keeps answering others meanwhile', async () => {
    const c = await clusterWithNodes(['node-1']);
    const patch = await call('PATCH', `${c.base}/config`, { body: { 'label-filter': [...DEFAULT_LABEL_FILTER, '!(a+)+b', '!(a|aa)+c', '!(.*a){20}d'] } });
    expect(patch.status).toBe(200);
    // 253-character prefixes of a's with no b, c or d: 2^n backtracking steps on a regex engine
    // that backtracks; each key is new, so no memoised verdict helps.
    const longKey = (i: number) => `${'a'.repeat(253 - String(i).length)}${i}/${'a'.repeat(63)}`;
    const started = Date.now();
    const creates = Array.from({ length: 20 }, (_, i) =>
      c.createEndpoint('node-1', 'cilium-local:0', { labels: Array.from({ length: 10 }, (_, j) => `k8s:${longKey(i * 10 + j)}=x`) }),
    );
    const reads = Array.from({ length: 20 }, () => call('GET', `${c.base}/identities`));
    const results = await Promise.all([...creates, ...reads]);
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(201).fill(200, 20));
    expect(Date.now() - started).toBeLessThan(10_000);
    // The patterns do apply: a key they match is excluded.
    const excluded = await c.createEndpoint('node-1', 'cilium-local:0', { labels: ['k8s:app=web', `k8s:${'a'.repeat(60)}b=x`] });
    expect(excluded.body.labels.information).toEqual([`k8s:${'a'.repeat(60)}b=x`]);
  });
});
