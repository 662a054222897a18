import { describe, expect, it } from 'vitest';
import { formatTable, humanDuration } from '../../../src/shim/cli/table.js';

describe('formatTable (kubectl tabwriter: min width 10, padding 3)', () => {
  it('pads every column but the last and prints <none> for empty cells', () => {
    expect(formatTable(['NAME', 'ENDPOINT STATE', 'IPV6'], [['a', 'ready', ''], ['longer-name-here', '', 'fd00::1']])).toBe(
      ['NAME               ENDPOINT STATE   IPV6', 'a                  ready            <none>', 'longer-name-here   <none>           fd00::1'].join('\n'),
    );
  });
});

describe('humanDuration (apimachinery duration.HumanDuration)', () => {
  it.each([
    [0, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [3 * 3600_000, '3h'],
    [3 * 3600_000 + 60_000, '3h1m'],
    [9 * 3600_000, '9h'],
    [50 * 3600_000, '2d2h'],
    [10 * 24 * 3600_000, '10d'],
    [3 * 365 * 24 * 3600_000, '3y'],
    [-5000, '<invalid>'],
  ])('%d ms → %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});
