// Tests that need root (bpffs mounts, BPF maps) and bpftool: they skip with a printed reason on a
// machine without them, and fail under CI=true, so CI cannot pass by skipping.
import { execFileSync } from 'node:child_process';

export function rootUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `BPF needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'BPF maps and bpffs mounts need root';
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
  } catch {
    return 'bpftool is not installed (apt-get install bpftool)';
  }
  return undefined;
}

/** Call at module level: returns true when the suite should run; throws under CI=true otherwise. */
export function requireRootOrSkip(suite: string): boolean {
  return runUnlessUnavailable(suite, rootUnavailableReason());
}

/** As requireRootOrSkip, for any reason the suite cannot run (undefined: it can). */
export function runUnlessUnavailable(suite: string, reason: string | undefined): boolean {
  if (reason === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`${suite}: cannot run under CI: ${reason}`);
  console.warn(`SKIPPED ${suite}: ${reason}`);
  return false;
}
