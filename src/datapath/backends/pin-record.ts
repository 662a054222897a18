// The pins this agent created, with the kernel ID of the map each one held, kept in the state
// directory. `idplane-agent cleanup` removes a pin only while it still holds that very map, so it
// never removes a map someone else pinned (before the agent, or in its place afterwards).
// A log of JSON lines: a pin made or removed (one per endpoint's policy map) appends one line
// instead of rewriting every record, and the log is compacted once most of its lines are stale.
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OwnedPin {
  path: string;
  /** bpf_map_info.id of the map the agent created and pinned there. */
  mapId: number;
}

/** A line of the log: a pin made, or (mapId null) removed. */
interface Line {
  path: string;
  mapId: number | null;
}

/** Stale lines tolerated beyond the live ones before the log is rewritten. */
const SLACK_LINES = 64;

export class PinRecord {
  readonly path: string;
  /** Earlier agents' record: a JSON array, read once and rewritten as a log. */
  private readonly legacyPath: string;
  private pins: Map<string, number> | undefined;
  private lines = 0;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.path = join(stateDir, 'pinned-maps.jsonl');
    this.legacyPath = join(stateDir, 'pinned-maps.json');
  }

  private load(): Map<string, number> {
    if (this.pins) return this.pins;
    const pins = new Map<string, number>();
    const legacy = readJson<OwnedPin[]>(this.legacyPath);
    for (const pin of legacy ?? []) pins.set(pin.path, pin.mapId);
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      // no log yet
    }
    // A line cut short by a crash is skipped: it recorded a pin that was never made.
    for (const line of text.split('\n')) {
      const l = parseLine(line);
      if (!l) continue;
      this.lines += 1;
      if (l.mapId === null) pins.delete(l.path);
      else pins.set(l.path, l.mapId);
    }
    this.pins = pins;
    if (legacy !== undefined) {
      this.compact();
      rmSync(this.legacyPath, { force: true });
    }
    return pins;
  }

  list(): OwnedPin[] {
    return [...this.load()].map(([path, mapId]) => ({ path, mapId }));
  }

  /** Records a pin before it is made, so a crash in between leaves a record of nothing, not a pin of no record. */
  add(pin: OwnedPin): void {
    this.load().set(pin.path, pin.mapId);
    this.append({ path: pin.path, mapId: pin.mapId });
  }

  /** Forgets a pin after it was removed (a crash before leaves a record of nothing, which cleanup skips). */
  remove(path: string): void {
    if (!this.load().delete(path)) return;
    this.append({ path, mapId: null });
  }

  clear(): void {
    rmSync(this.path, { force: true });
    rmSync(this.legacyPath, { force: true });
    this.pins = new Map();
    this.lines = 0;
  }

  private append(line: Line): void {
    appendFileSync(this.path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    this.lines += 1;
    if (this.lines > 2 * this.load().size + SLACK_LINES) this.compact();
  }

  /** Rewrites the log with one line per live pin, atomically. */
  private compact(): void {
    const pins = this.load();
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, [...pins].map(([path, mapId]) => `${JSON.stringify({ path, mapId })}\n`).join(''), { mode: 0o600 });
    renameSync(tmp, this.path);
    this.lines = pins.size;
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function parseLine(line: string): Line | undefined {
  if (line === '') return undefined;
  try {
    const l = JSON.parse(line) as Line;
    return typeof l.path === 'string' && (typeof l.mapId === 'number' || l.mapId === null) ? l : undefined;
  } catch {
    return undefined;
  }
}
