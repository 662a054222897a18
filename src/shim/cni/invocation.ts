// The CNI_* environment of one invocation (CNI spec 1.0.0 §2 "Parameters"), checked per command:
// a missing or invalid variable is error 4 naming it. Pure: takes the environment as a record.
import { isValidContainerId, isValidIfname } from '../../core/endpoint-ref.js';
import { CNI_ERROR, CniError } from './errors.js';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** One attachment, the spec's `(CNI_CONTAINERID, CNI_IFNAME)`, with its CNI_ARGS. */
export interface Attachment {
  containerId: string;
  ifname: string;
  args: string | undefined;
}

export type Invocation =
  | { command: 'VERSION' }
  | ({ command: 'ADD' | 'CHECK'; netns: string } & Attachment)
  | ({ command: 'DEL'; netns: string | undefined } & Attachment);

export type CniEnv = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: CniEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Reads and checks the CNI_* variables; CNI_COMMAND must be set (the caller handles its absence). */
export function readInvocation(env: CniEnv): Invocation {
  const command = env.CNI_COMMAND as CniCommand;
  if (!(CNI_COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_ERROR.invalidEnvironment, `CNI_COMMAND: unknown command ${JSON.stringify(env.CNI_COMMAND)}; one of ${CNI_COMMANDS.join(', ')}`);
  }
  if (command === 'VERSION') return { command };
  // ADD and CHECK need the namespace; DEL may come without it (spec: clean up what you can).
  const required = command === 'DEL' ? ['CNI_CONTAINERID', 'CNI_IFNAME'] : ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'];
  const missing = required.filter((name) => nonEmpty(env, name) === undefined);
  if (missing.length > 0) throw new CniError(CNI_ERROR.invalidEnvironment, `required environment variables missing: ${missing.join(', ')}`);
  const containerId = env.CNI_CONTAINERID!;
  if (!isValidContainerId(containerId)) {
    throw new CniError(CNI_ERROR.invalidEnvironment, `CNI_CONTAINERID: ${JSON.stringify(containerId)} is not a container ID (alphanumeric first, then alphanumerics, _ . -; at most 128)`);
  }
  const ifname = env.CNI_IFNAME!;
  if (!isValidIfname(ifname)) throw new CniError(CNI_ERROR.invalidEnvironment, `CNI_IFNAME: ${JSON.stringify(ifname)} is not an interface name`);
  const args = env.CNI_ARGS;
  if (command === 'DEL') return { command, containerId, netns: nonEmpty(env, 'CNI_NETNS'), ifname, args };
  return { command, containerId, netns: env.CNI_NETNS!, ifname, args };
}
