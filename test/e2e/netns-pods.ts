// Traffic between pods (network namespaces), run inside them with `nsenter --net=` (`ip netns
// exec` remounts /sys, which hides the bpffs pins). Probes are tiny Node clients: "ok" when the
// connection (TCP) or an echoed datagram (UDP) gets through, "timeout" when the packets are
// dropped, the error code otherwise (ECONNREFUSED: the pod's kernel answered).
import { execFile, spawn, type ChildProcess } from 'node:child_process';

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
  require('net').createServer((s) => { console.log('accepted ' + s.remoteAddress); s.end(); }).listen(port, '0.0.0.0', up);
  const d = require('dgram').createSocket('udp4');
  d.on('message', (m, r) => d.send(m, r.port, r.address));
  d.bind(port, '0.0.0.0', up);
}`;

export interface PodServer {
  child: ChildProcess;
  /** The remote address of every TCP connection accepted so far. */
  accepted: string[];
}

/** TCP (accept and close) and UDP (echo) listeners on `ports` inside `netns`; resolves once listening. */
export function startServer(netns: string, ports: number[]): Promise<PodServer> {
  const child = spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', SERVER, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const accepted: string[] = [];
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'listening') resolve({ child, accepted });
        else if (line.startsWith('accepted ')) accepted.push(line.slice(9));
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

const PROBER = `
const [host, port, every, ms] = process.argv.slice(1).map((a, i) => (i === 0 ? a : Number(a)));
process.stdin.once('data', () => setInterval(() => {
  const at = Date.now();
  const end = (outcome) => console.log(at + ' ' + outcome + ' ' + (Date.now() - at));
  const s = require('net').connect({ host, port });
  const t = setTimeout(() => { s.destroy(); end('timeout'); }, ms);
  s.on('connect', () => { clearTimeout(t); s.destroy(); end('ok'); });
  s.on('error', (e) => { clearTimeout(t); end(e.code); });
}, every));`;

export interface Prober {
  child: ChildProcess;
  /** Every attempt so far: when it started (ms since the epoch), how it ended, and how long that took. */
  attempts: { at: number; outcome: string; ms: number }[];
  /** Starts probing (the process is up, and has sent nothing, before this). */
  go(): void;
}

/** From inside `netns`, once go() is called, a TCP connection attempt to host:port every `everyMs`, each given `timeoutMs`. */
export function startProber(netns: string, host: string, port: number, everyMs: number, timeoutMs: number): Prober {
  const child = spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', PROBER, host, String(port), String(everyMs), String(timeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const attempts: Prober['attempts'] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const [at, outcome, ms] = line.split(' ');
      attempts.push({ at: Number(at), outcome: outcome!, ms: Number(ms) });
    }
  });
  return { child, attempts, go: () => child.stdin!.write('go\n') };
}

/** One ICMP echo from inside `netns` (ping -c 1): "ok" when the reply came back, "timeout" when not. */
export function ping(netns: string, host: string, seconds = 1): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile('nsenter', [`--net=${netns}`, 'ping', '-n', '-c', '1', '-W', String(seconds), host], (e) => resolve(e ? 'timeout' : 'ok'));
  });
}
