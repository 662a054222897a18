// Runs a conflist's plugins as libcni does (containernetworking/cni libcni/api.go): per plugin
// the CNI_* environment and, on stdin, its entry with the list's `name` and `cniVersion` and, for
// every plugin after the first, `prevResult`; ADD and CHECK in order, DEL in reverse with the
// final ADD result as prevResult. Plugins are looked up by `type` in CNI_PATH.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's containernetworking-plugins install (and the upstream tarball's usual place). */
export const REFERENCE_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

export function referencePluginDir(): string | undefined {
  return REFERENCE_PLUGIN_DIRS.find((d) => existsSync(join(d, 'bridge')) && existsSync(join(d, 'host-local')));
}

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS, as containerd builds them for a pod sandbox. */
  args: string;
}

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a plugin executable as a runtime does: `env`, the config on stdin; its exit, output and time. */
export function runPlugin(file: string, env: NodeJS.ProcessEnv, stdin: string): Promise<PluginRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
    child.stdin.end(stdin);
  });
}

export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly run: PluginRun,
  ) {
    super(`${plugin}: exit ${run.code}: ${run.stdout}${run.stderr}`);
  }

  /** The CNI error result the plugin printed. */
  get result(): { cniVersion: string; code: number; msg: string; details?: string } {
    return JSON.parse(this.run.stdout);
  }
}

export function podArgs(namespace: string, pod: string, containerId: string): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${containerId};K8S_POD_UID=00000000-0000-4000-8000-${containerId.slice(-12).padStart(12, '0')}`;
}

export class CniRuntime {
  constructor(private readonly cniPath: string[]) {}

  private find(type: string): string {
    const dir = this.cniPath.find((d) => existsSync(join(d, type)));
    if (!dir) throw new Error(`plugin ${type} not found in ${this.cniPath.join(':')}`);
    return join(dir, type);
  }

  /** One plugin invocation: env and stdin as libcni's invoke.ExecPluginWithResult builds them. */
  exec(command: 'ADD' | 'DEL' | 'CHECK', at: Attachment, list: Conflist, plugin: Record<string, unknown>, prevResult?: unknown): Promise<PluginRun> {
    const conf = { ...plugin, name: list.name, cniVersion: list.cniVersion, ...(prevResult === undefined ? {} : { prevResult }) };
    const env = {
      ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: at.containerId, CNI_NETNS: at.netns, CNI_IFNAME: at.ifname,
      CNI_ARGS: at.args, CNI_PATH: this.cniPath.join(':'),
    };
    return runPlugin(this.find(plugin.type as string), env, JSON.stringify(conf));
  }

  /** ADD through the list; the final result, and each plugin's run. Throws at the first failure. */
  async add(at: Attachment, list: Conflist): Promise<{ result: any; runs: PluginRun[] }> {
    let prevResult: unknown;
    const runs: PluginRun[] = [];
    for (const plugin of list.plugins) {
      const run = await this.exec('ADD', at, list, plugin, prevResult);
      runs.push(run);
      if (run.code !== 0) throw new CniPluginError(plugin.type as string, run);
      prevResult = JSON.parse(run.stdout);
    }
    return { result: prevResult, runs };
  }

  async check(at: Attachment, list: Conflist, result: unknown): Promise<void> {
    for (const plugin of list.plugins) {
      const run = await this.exec('CHECK', at, list, plugin, result);
      if (run.code !== 0) throw new CniPluginError(plugin.type as string, run);
    }
  }

  async del(at: Attachment, list: Conflist, result: unknown): Promise<void> {
    for (const plugin of [...list.plugins].reverse()) {
      const run = await this.exec('DEL', at, list, plugin, result);
      if (run.code !== 0) throw new CniPluginError(plugin.type as string, run);
    }
  }
}
