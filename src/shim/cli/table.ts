// kubectl-style tables: upper-case headers, columns padded as kubectl's tabwriter does
// (minimum width 10, padding 3), `<none>` for empty cells; and kubectl's human ages.

const MIN_WIDTH = 10;
const PADDING = 3;
export const NONE = '<none>';

/** Layout options: Cilium's own tables use tabwriter min width 5 and keep empty cells empty. */
export interface TableStyle {
  minWidth: number;
  empty: string;
}

const KUBECTL_STYLE: TableStyle = { minWidth: MIN_WIDTH, empty: NONE };

export function formatTable(headers: string[], rows: string[][], style: TableStyle = KUBECTL_STYLE): string {
  const all = [headers, ...rows.map((r) => r.map((cell) => (cell === '' ? style.empty : cell)))];
  const widths = headers.map((_h, i) => Math.max(style.minWidth, ...all.map((r) => (r[i] ?? '').length + PADDING)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('').trimEnd())
    .join('\n');
}

/** k8s.io/apimachinery duration.HumanDuration, as kubectl prints AGE. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}
