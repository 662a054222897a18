// The reference datapath on the wire (issue 9), as root: a real agent with the bridge port guard,
// pods through bridge + host-local + idplane-cni with "datapath": "reference", and a prober in
// the client pod opening a TCP connection to the server every 2 ms. Measured: building the
// programs; per pod, idplane-cni's ADD and the agent's attach; ADD returning → the first allowed
// connection; a policy PUT → the first connection the kernel enforces it on (the allow taken away:
// the first dropped attempt; given back: the first that connects), p50/p99 over the rounds
// (Cilium's CI threshold for policy implementation delay: p99 ≤ 100 ms).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnAgent } from '../test/e2e/agent-process.js';
import { CniRuntime, podArgs, referencePluginDir, type Conflist } from '../test/e2e/cni-chain.js';
import { startProber, startServer, type Prober } from '../test/e2e/netns-pods.js';
import { rootUnavailableReason } from '../test/e2e/root.js';
import { clusterApi, eventually, putCluster, unixSocketRequest } from '../test/e2e/support.js';
import { startWranglerDev } from '../test/e2e/wrangler-dev.js';

const ROUNDS = 50;
const root = resolve(import.meta.dirname, '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0)} ms, p99 ${percentile(s, 99).toFixed(0)} ms (n=${s.length})`;
};

/** Waits for the first attempt started at or after `since` with outcome `want`; its start time. */
async function firstAttempt(prober: Prober, since: number, want: (outcome: string) => boolean): Promise<number> {
  let at: number | undefined;
  await eventually(() => {
    at = prober.attempts.find((a) => a.at >= since && want(a.outcome))?.at;
    if (at === undefined) throw new Error('not yet');
  }, 10000);
  return at!;
}

export async function datapathBudgets(): Promise<void> {
  const reason = rootUnavailableReason() ?? (referencePluginDir() ? undefined : 'the reference CNI plugins are not installed');
  if (reason) return void console.log(`reference datapath: skipped (${reason})`);
  const buildStarted = performance.now();
  execFileSync('npm', ['run', '--silent', 'build:bpf'], { cwd: root, stdio: 'ignore' });
  console.log(`reference datapath: clang build of the programs ${(performance.now() - buildStarted).toFixed(0)} ms`);

  const work = mkdtempSync(join(tmpdir(), 'bench-refdp-'));
  const bpffs = join(work, 'bpffs');
  const socket = join(work, 'agent.sock');
  const bridge = 'rdbench0';
  mkdirSync(join(work, 'bin'));
  symlinkSync(join(root, 'dist/idplane-cni.cjs'), join(work, 'bin/idplane-cni'));
  mkdirSync(bpffs);
  execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
  const dev = await startWranglerDev();
  const api = clusterApi(() => dev, 'bench-dp');
  const runtime = new CniRuntime([join(work, 'bin'), referencePluginDir()!]);
  const netns: string[] = [];
  const children: { kill(): void }[] = [];
  let agent: ReturnType<typeof spawnAgent> | undefined;
  try {
    await putCluster(dev, 'bench-dp');
    writeFileSync(join(work, 'token'), dev.token);
    agent = spawnAgent(['run', '--url', dev.url, '--cluster', 'bench-dp', '--node', 'bench', '--token-file', join(work, 'token'), '--bpffs', bpffs,
      '--state-dir', join(work, 'state'), '--socket', socket, '--metrics-address', '127.0.0.1:0', '--log-level', 'info',
      '--datapath-object', join(root, 'build/bpf/reference.o'), '--datapath-guard-bridge', bridge]);
    await eventually(async () => {
      if ((await unixSocketRequest(socket, 'GET', '/v1/healthz')).body.status !== 'ok') throw new Error('agent not ready');
    }, 30000);
    const allow = (app: string) => ({
      apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'server' },
      spec: { endpointSelector: { matchLabels: { app: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
    });
    await api('PUT', '/policies/default/server', allow('client'));

    const addPodIn = async (ns: string, name: string, ip: string, app: string) => {
      const list: Conflist = {
        cniVersion: '1.0.0', name: 'idplane',
        plugins: [
          { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.89.0.0/24', rangeStart: ip, rangeEnd: ip }]], dataDir: join(work, 'ipam') } },
          { type: 'idplane-cni', 'agent-socket': socket, datapath: 'reference', args: { cni: { labels: [{ key: 'app', value: app }] } } },
        ],
      };
      const { runs } = await runtime.add({ containerId: `bench${name}`, netns: `/var/run/netns/${ns}`, ifname: 'eth0', args: podArgs('default', name, `bench${name}`) }, list);
      return { netns: `/var/run/netns/${ns}`, ip, cniMs: runs[1]!.ms, returnedAt: Date.now() };
    };
    const addPod = (name: string, ip: string, app: string) => {
      const ns = `rdbench-${name}`;
      execFileSync('ip', ['netns', 'add', ns]);
      netns.push(ns);
      return addPodIn(ns, name, ip, app);
    };

    const client = await addPod('client', '10.89.0.11', 'client');
    const pods = [];
    for (let i = 0; i < 5; i++) pods.push(await addPod(`p${i}`, `10.89.0.${20 + i}`, 'idle'));
    const attaches = agent.logs.filter((l) => l.msg === 'reference datapath attached').map((l) => l.ms as number);
    console.log(`reference datapath: idplane-cni ADD (create + attach) ${summary(pods.map((p) => p.cniMs))}; the agent's attach alone ${summary(attaches)}`);
    const guards = agent.logs.filter((l) => l.msg === 'new bridge port guarded (drop-all until its endpoint is created)').map((l) => l.ms as number);
    console.log(`reference datapath: a new port joining the bridge → its drop-all guard attached ${summary(guards)} (the window that remains)`);

    // The server's listener is up in its namespace before its ADD, so the first connection the
    // datapath lets through is accepted. The prober, started before, sends its first attempt the
    // moment ADD returns (a peer that probed an address before it existed would wait on ARP).
    execFileSync('ip', ['netns', 'add', 'rdbench-server']);
    netns.push('rdbench-server');
    children.push((await startServer('/var/run/netns/rdbench-server', [80])).child);
    const prober = startProber(client.netns, '10.89.0.10', 80, 2, 100);
    children.push(prober.child);
    const server = await addPodIn('rdbench-server', 'server', '10.89.0.10', 'server');
    prober.go();
    await eventually(() => {
      if (prober.attempts.length === 0) throw new Error('no attempt yet');
    });
    const first = [...prober.attempts].sort((a, b) => a.at - b.at)[0]!;
    console.log(`reference datapath: the client's first attempt after ADD returned: ${first.outcome}, connected ${first.at + first.ms - server.returnedAt} ms after ADD returned (${first.ms} ms to connect)`);

    const enforced: number[] = [];
    const restored: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = Date.now();
      await api('PUT', '/policies/default/server', allow('other'));
      enforced.push((await firstAttempt(prober, t0, (o) => o === 'timeout')) - t0);
      const t1 = Date.now();
      await api('PUT', '/policies/default/server', allow('client'));
      restored.push((await firstAttempt(prober, t1, (o) => o === 'ok')) - t1);
    }
    console.log(`reference datapath: policy PUT → first connection dropped on the wire ${summary(enforced)}; → allowed again ${summary(restored)} (Cilium CI: p99 ≤ 100 ms)`);
  } finally {
    for (const c of children) c.kill();
    for (const ns of netns) execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
    await agent?.stop();
    await dev.stop();
    execFileSync('umount', [bpffs]);
  }
}
