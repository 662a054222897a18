// The pins this agent created, with the kernel ID of the map each one held, kept in the state
// directory. `idplane-agent cleanup` removes a pin only while it still holds that very map, so it
// never removes a map someone else pinned (before the agent, or in its place afterwards).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OwnedPin {
  path: string;
  /** bpf_map_info.id of the map the agent created and pinned there. */
  mapId: number;
}

export class PinRecord {
  readonly path: string;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.path = join(stateDir, 'pinned-maps.json');
  }

  list(): OwnedPin[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    return JSON.parse(text) as OwnedPin[];
  }

  /** Records a pin before it is made, so a crash in between leaves a record of nothing, not a pin of no record. */
  add(pin: OwnedPin): void {
    const pins = this.list().filter((p) => p.path !== pin.path);
    pins.push(pin);
    this.write(pins);
  }

  /** Forgets a pin after it was removed (a crash before leaves a record of nothing, which cleanup skips). */
  remove(path: string): void {
    const pins = this.list();
    const kept = pins.filter((p) => p.path !== path);
    if (kept.length !== pins.length) this.write(kept);
  }

  private write(pins: OwnedPin[]): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(pins, null, 2), { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}
