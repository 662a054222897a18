// Pods as network namespaces on a host bridge, as the CNI bridge plugin wires them: a veth pair
// per pod, its host side a port of the bridge, the pod side eth0 with a /24 address and the
// bridge as gateway. Commands inside a pod run with `nsenter --net=` (`ip netns exec` remounts
// /sys, which hides the bpffs pins). Probes are tiny Node clients: "ok" when the connection (TCP)
// or an echoed datagram (UDP) gets through, "timeout" when the packets are dropped.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export interface NetnsPod {
  name: string;
  netns: string;
  ip: string;
  hostIfname: string;
  hostIfindex: number;
}

export class PodNetwork {
  private readonly pods: NetnsPod[] = [];

  /** `bridge` gets `gateway`/24; pods get addresses in that /24. */
  constructor(
    readonly bridge: string,
    readonly gateway: string,
  ) {
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);
  }

  /** A namespace with eth0 at `ip`, its veth's host side `hostIfname` on the bridge, up. */
  add(name: string, ip: string, hostIfname: string): NetnsPod {
    sh('ip', ['netns', 'add', name]);
    const netns = `/run/netns/${name}`;
    sh('ip', ['link', 'add', hostIfname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    sh('ip', ['link', 'set', hostIfname, 'master', this.bridge, 'up']);
    sh('nsenter', [`--net=${netns}`, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh('nsenter', [`--net=${netns}`, 'ip', 'link', 'set', 'eth0', 'up']);
    sh('nsenter', [`--net=${netns}`, 'ip', 'link', 'set', 'lo', 'up']);
    sh('nsenter', [`--net=${netns}`, 'ip', 'route', 'add', 'default', 'via', this.gateway]);
    const hostIfindex = Number(readFileSync(`/sys/class/net/${hostIfname}/ifindex`, 'utf8').trim());
    const pod = { name, netns, ip, hostIfname, hostIfindex };
    this.pods.push(pod);
    return pod;
  }

  /** Removes a pod's namespace: its veth pair goes with it. */
  remove(pod: NetnsPod): void {
    sh('ip', ['netns', 'delete', pod.name]);
    this.pods.splice(this.pods.indexOf(pod), 1);
  }

  destroy(): void {
    for (const pod of [...this.pods]) this.remove(pod);
    execFileSync('ip', ['link', 'delete', this.bridge], { stdio: 'ignore' });
  }
}

export type Protocol = 'tcp' | 'udp';
export type Outcome = 'ok' | 'timeout';

const PROBE = `
const [proto, host, port, ms] = process.argv.slice(1);
const done = (r) => { console.log(r); process.exit(0); };
setTimeout(() => done('timeout'), Number(ms));
if (proto === 'tcp') {
  const s = require('net').connect({ host, port: Number(port) });
  s.on('connect', () => done('ok'));
  s.on('error', (e) => done(e.code));
} else {
  const d = require('dgram').createSocket('udp4');
  d.on('message', () => done('ok'));
  d.send('probe', Number(port), host);
}`;

/** One connection attempt from inside `netns` (the host's namespace when undefined). */
export function probe(netns: string | undefined, proto: Protocol, host: string, port: number, ms: number): Promise<Outcome | string> {
  const args = ['-e', PROBE, proto, host, String(port), String(ms)];
  const [cmd, argv] = netns === undefined ? [process.execPath, args] : ['nsenter', [`--net=${netns}`, process.execPath, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
  });
}

const SERVER = `
const ports = process.argv.slice(1).map(Number);
let ready = 0;
const up = () => { if (++ready === ports.length * 2) console.log('listening'); };
for (const port of ports) {
  require('net').createServer((s) => s.end()).listen(port, '0.0.0.0', up);
  const d = require('dgram').createSocket('udp4');
  d.on('message', (m, r) => d.send(m, r.port, r.address));
  d.bind(port, '0.0.0.0', up);
}`;

/** TCP (accept and close) and UDP (echo) listeners on `ports` inside `netns`; resolves once listening. */
export function startServer(netns: string, ports: number[]): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', SERVER, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve(child));
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}
