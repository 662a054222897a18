// Reads an attachment's veth pair with iproute2: `nsenter --net=PATH ip -j link` inside the pod's
// namespace (not `ip netns exec`, which remounts /sys and takes an arbitrary CNI_NETNS path
// badly) and `ip -j link` on the host, both at once.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { attachmentLinks, parseIpLinks, type AttachmentLinks } from './links.js';
import { CNI_ERROR, CniError } from './errors.js';

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function readAttachmentLinks(netns: string, ifname: string, timeoutMs: number): Promise<AttachmentLinks> {
  try {
    await stat(netns);
  } catch (e) {
    throw new CniError(CNI_ERROR.invalidEnvironment, `CNI_NETNS: cannot open ${netns}: ${(e as Error).message}`);
  }
  let inside: string;
  let host: string;
  try {
    [inside, host] = await Promise.all([
      run('nsenter', [`--net=${netns}`, 'ip', '-j', 'link', 'show', 'dev', ifname], timeoutMs),
      run('ip', ['-j', 'link', 'show'], timeoutMs),
    ]);
  } catch (e) {
    throw new CniError(CNI_ERROR.linkNotFound, `cannot read ${ifname} and its host-side peer`, (e as Error).message);
  }
  return attachmentLinks(parseIpLinks(inside), parseIpLinks(host), ifname);
}
