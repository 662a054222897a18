// Runs the built `idplane-agent` program as a child process and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { eventually } from './support.js';

export const AGENT_BIN = resolve(import.meta.dirname, '../../dist/idplane-agent.js');

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface AgentProcess {
  child: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  /** Waits for a log line with this message (and matching `where`), returning it. */
  waitForLog(msg: string, where?: (l: LogLine) => boolean, ms?: number): Promise<LogLine>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnAgent(args: string[]): AgentProcess {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let err = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.trim() !== '') logs.push(JSON.parse(l) as LogLine);
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    logs,
    stderr: () => err,
    exited,
    async waitForLog(msg, where = () => true, ms = 30000) {
      let found: LogLine | undefined;
      await eventually(() => {
        found = logs.find((l) => l.msg === msg && where(l));
        if (!found) throw new Error(`no log line "${msg}" yet; have: ${logs.map((l) => l.msg).join(' | ')}; stderr: ${err}`);
      }, ms);
      return found!;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
