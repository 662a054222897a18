// The agent program as an operator runs it (memory backend, so no root needed): its version,
// its metrics address, what SIGTERM leaves behind, re-registration of an existing node, and a
// control plane that is down at start and restarts later.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, spawnAgent, type AgentProcess } from './agent-process.js';
import { clusterApi, eventually, putCluster } from './support.js';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.js';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
const work = mkdtempSync(join(tmpdir(), 'idplane-agent-proc-'));
let dev: WranglerDev;
const running: AgentProcess[] = [];
const tokenFile = join(work, 'token');

function agent(url: string, cluster: string, node: string, ...extra: string[]): AgentProcess {
  const state = mkdtempSync(join(work, 'state-'));
  const a = spawnAgent(['run', '--url', url, '--cluster', cluster, '--node', node, '--token-file', tokenFile, '--backend', 'memory',
    '--state-dir', state, '--socket', join(state, 'agent.sock'), '--metrics-address', '127.0.0.1:0', '--ipv4', '192.168.90.1', ...extra]);
  running.push(a);
  return a;
}

beforeAll(async () => {
  dev = await startWranglerDev();
  writeFileSync(tokenFile, dev.token);
}, 90000);
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop('SIGKILL');
});
afterAll(async () => {
  await dev?.stop();
});

describe('idplane-agent as a process', () => {
  it('--version prints the package version', async () => {
    expect((await run(process.execPath, [AGENT_BIN, '--version'])).stdout.trim()).toBe(version);
  });

  it('--metrics-address 127.0.0.1:0 takes a free port, logs it and serves /metrics there', async () => {
    await putCluster(dev, 'proc-metrics');
    const a = agent(dev.url, 'proc-metrics', 'node-m');
    const line = await a.waitForLog('serving metrics');
    const url = line.metrics as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(url).not.toMatch(/:0\//);
    await a.waitForLog('maps in sync; following the feed');
    const text = await (await fetch(url)).text();
    expect(text).toContain('idplane_agent_applied_revision');
    expect(text).toContain('idplane_agent_map_entries{map="cilium_ipcache_v2"}');
  });

  it.each([
    { name: 'a port out of range', address: '127.0.0.1:70000', says: /--metrics-address: "127.0.0.1:70000" is not HOST:PORT/ },
    { name: 'no port', address: '127.0.0.1', says: /--metrics-address: "127.0.0.1" is not HOST:PORT/ },
  ])('--metrics-address with $name exits 1 naming the flag', async ({ address, says }) => {
    const a = agent(dev.url, 'proc-bad-flag', 'node-x', '--metrics-address', address);
    expect(await a.exited).toBe(1);
    expect(a.stderr()).toMatch(says);
  });

  it('SIGTERM stops heartbeating and leaves: the node keeps its endpoints and its 900 s default lease', async () => {
    const cluster = 'proc-sigterm';
    await putCluster(dev, cluster);
    const api = clusterApi(() => dev, cluster);
    const a = agent(dev.url, cluster, 'node-t');
    await a.waitForLog('maps in sync; following the feed');
    await api('PUT', '/nodes/node-t/endpoints/cilium-local:0', { labels: ['k8s:app=kept'], addressing: { ipv4: '10.90.0.1' }, 'sync-build-endpoint': true });
    expect(await a.stop('SIGTERM')).toBe(0);
    const node = await api('GET', '/nodes/node-t');
    expect([node['lease-seconds'], node.endpoints]).toEqual([900, 1]);
    expect(Date.parse(node['lease-expires-at']) - Date.now()).toBeGreaterThan(800_000);
    expect((await api('GET', '/ipcache')).entries.map((e: { prefix: string }) => e.prefix)).toEqual(['10.90.0.1/32']);
  });

  it.each([
    { name: 'a node without a lease stays without one', lease: 0 },
    { name: 'a node with another lease keeps it', lease: 600 },
  ])('re-registering an existing node: $name, and the agent says so (at --log-level warn, nothing below)', async ({ lease }) => {
    const cluster = `proc-rereg-${lease}`;
    await putCluster(dev, cluster);
    const api = clusterApi(() => dev, cluster);
    await api('PUT', '/nodes/node-r', { ipv4: '192.168.90.1', 'lease-seconds': lease });
    const a = agent(dev.url, cluster, 'node-r', '--lease-seconds', '900', '--log-level', 'warn');
    const warning = await a.waitForLog('the node exists with another lease and keeps it (0: none); --lease-seconds applies when the agent registers a new node');
    expect([warning.nodeLeaseSeconds, warning.leaseSecondsFlag]).toEqual([lease, 900]);
    await eventually(async () => expect((await api('GET', '/nodes/node-r'))['last-heartbeat']).not.toBeNull());
    expect((await api('GET', '/nodes/node-r'))['lease-seconds']).toBe(lease);
    expect(a.logs.filter((l) => l.level < 40)).toEqual([]);
  });

  it('waits out a control plane that is down at start and a cluster not put yet (logging its retries), and logs when the feed reconnects after a restart', async () => {
    // A gateway answering 503 holds the port first, so no other test's server takes it meanwhile.
    const gateway = createServer((_req, res) => res.writeHead(503).end('no upstream'));
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const { port } = gateway.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const a = agent(url, 'proc-down', 'node-d');
    expect(await a.waitForLog('control plane unreachable; retrying')).toMatchObject({ url, error: 'GET /nodes/node-d: HTTP 503', attempt: 1, retryInSeconds: 0.5 });
    await new Promise((r) => gateway.close(r));
    // Then nothing listens at all.
    expect(await a.waitForLog('control plane unreachable; retrying', (l) => l.error === 'ECONNREFUSED')).toMatchObject({ url });
    let later = await startWranglerDev({ port, token: dev.token });
    try {
      const waiting = await a.waitForLog('cluster not found (an admin creates it with PUT /v1/clusters/<cluster>); retrying', undefined, 60000);
      expect(waiting).toMatchObject({ cluster: 'proc-down', error: expect.stringContaining('proc-down') });
      await putCluster(later, 'proc-down');
      await a.waitForLog('maps in sync; following the feed', undefined, 60000);
      const nodes = await clusterApi(() => later, 'proc-down')('GET', '/nodes');
      expect(nodes.nodes.map((n: { name: string }) => n.name)).toEqual(['node-d']);
      await later.stop({ keepState: true });
      later = await startWranglerDev({ port, token: dev.token, persistDir: later.persistDir });
      await a.waitForLog('feed reconnected', undefined, 60000);
    } finally {
      await a.stop('SIGTERM');
      await later.stop();
    }
  }, 180000);
});
