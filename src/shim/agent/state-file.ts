// The agent's persisted state: the last applied revision (and its node token when it obtained
// one), written atomically (temp file, fsync, rename) so a crash leaves the old or the new.
// Writes are asynchronous and serialised, so an fsync never stalls the feed.
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface AgentState {
  appliedRevision: number;
  nodeToken?: string;
}

export class StateFile {
  private readonly path: string;
  private chain: Promise<void> = Promise.resolve();

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

  /** Queues an atomic write; resolves once this state (or a later one) is on disk. */
  write(state: AgentState): Promise<void> {
    const text = JSON.stringify(state);
    // A failed write must not stop later ones: each starts after the previous settles.
    this.chain = this.chain.catch(() => undefined).then(async () => {
      const tmp = `${this.path}.tmp`;
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
    });
    return this.chain;
  }
}
