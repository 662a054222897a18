// Starts the real control plane (`wrangler dev`, real workerd) on a free loopback port for an
// end-to-end test, and stops its whole process tree by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface WranglerDev {
  url: string;
  token: string;
  persistDir: string;
  port: number;
  /** PID of the wrangler process; its process group holds workerd. */
  pid: number;
  /** Stops it; the state folder goes too (if a start made it) unless kept for a restart over it. */
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '../..');

/** State folders a start made: removed at the last stop over them (see `keepState`). */
const madeDirs = new Set<string>();

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wrangler dev did not become healthy in ${timeoutMs} ms:\n${output()}`);
}

/** Starts `wrangler dev`; pass the persist dir of an earlier run to restart over the same state. */
export async function startWranglerDev(opts: { persistDir?: string; token?: string; config?: string; port?: number } = {}): Promise<WranglerDev> {
  const port = opts.port ?? (await freePort());
  // Its own devtools port too: wrangler's default 9229 is shared by every wrangler on the machine.
  const inspectorPort = await freePort();
  const token = opts.token ?? 'e2e-admin-token';
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), 'idplane-e2e-'));
  if (opts.persistDir === undefined) madeDirs.add(persistDir);
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--port', String(port), '--ip', '127.0.0.1',
      '--persist-to', persistDir, '--inspector-port', String(inspectorPort), '--show-interactive-dev-session=false', '--var', `IDPLANE_ADMIN_TOKEN:${token}`,
      ...(opts.config ? ['--config', opts.config] : [])],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  // Keep the tail of wrangler's output for error messages; it logs every request.
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-64 * 1024));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const removeState = () => {
    if (madeDirs.delete(persistDir)) rmSync(persistDir, { recursive: true, force: true });
  };
  const stop = async ({ keepState = false } = {}) => {
    await kill();
    if (!keepState) removeState();
  };
  const kill = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, name);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    signal('SIGKILL');
  };
  try {
    await waitHealthy(url, child, () => log, 60000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, token, persistDir, port, pid: child.pid!, stop };
}
