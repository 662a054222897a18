// The agent's persisted state: the last applied revision (and its node token when it obtained
// one), written atomically (temp file, fsync, rename) so a crash leaves the old or the new.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface AgentState {
  appliedRevision: number;
  nodeToken?: string;
}

export class StateFile {
  private readonly path: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'agent-state.json');
  }

  read(): AgentState {
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<AgentState>;
      return { appliedRevision: Number.isInteger(parsed.appliedRevision) ? parsed.appliedRevision! : 0, nodeToken: parsed.nodeToken };
    } catch {
      return { appliedRevision: 0 };
    }
  }

  write(state: AgentState): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
