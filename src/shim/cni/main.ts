// idplane-cni: the process. Reads the CNI_* environment and the configuration on stdin, runs one
// command, prints its result (or the error result) on stdout and picks the exit code. Bundled
// alone into dist/idplane-cni.cjs. It starts once per pod: VERSION and errors in the environment
// load only this module's small imports; zod, node:http and child processes load for ADD, DEL and
// CHECK alone (esbuild keeps a dynamically imported module's initialisation lazy).
import { VERSION } from '../version.js';
import { errorResult } from './errors.js';
import { readInvocation, type Attachment, type CniEnv } from './invocation.js';
import { peekCniVersion, SUPPORTED_VERSIONS, versionResult } from './versions.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type AttachCommand = { command: 'ADD' | 'CHECK'; netns: string } | { command: 'DEL'; netns: string | undefined };

/** Runs ADD, DEL or CHECK; the text to print on success (ADD's result), or undefined. */
async function runAttachment(inv: Attachment & AttachCommand, stdin: string): Promise<string | undefined> {
  const [{ parsePluginConf }, { cniAdd, cniCheck, cniDel }, { agentCaller }, { readAttachmentLinks }] = await Promise.all([
    import('./config.js'),
    import('./commands.js'),
    import('./agent-client.js'),
    import('./netns.js'),
  ]);
  const conf = parsePluginConf(stdin, inv.command);
  // One deadline for the whole invocation: the conflist's timeout-seconds.
  const deadline = Date.now() + conf.timeoutMs;
  const deps = {
    agent: agentCaller(conf.agentSocket, deadline),
    readLinks: (netns: string, ifname: string) => readAttachmentLinks(netns, ifname, Math.max(1, deadline - Date.now())),
  };
  if (inv.command === 'ADD') return JSON.stringify(await cniAdd(inv, conf, deps));
  if (inv.command === 'DEL') await cniDel(inv, deps);
  else await cniCheck(inv, conf, deps);
  return undefined;
}

export async function main(env: CniEnv = process.env): Promise<number> {
  // As libcni's skel: run by hand without CNI_COMMAND, say what this is.
  if (!env.CNI_COMMAND) {
    process.stderr.write(`idplane-cni ${VERSION}: CNI plugin of idplane\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`);
    return 0;
  }
  const stdin = await readStdin();
  try {
    const inv = readInvocation(env);
    const out = inv.command === 'VERSION' ? JSON.stringify(versionResult(stdin)) : await runAttachment(inv, stdin);
    if (out !== undefined) process.stdout.write(out);
    return 0;
  } catch (e) {
    process.stdout.write(JSON.stringify(errorResult(peekCniVersion(stdin), e)));
    return 1;
  }
}
