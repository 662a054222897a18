// A child process of bench/propagation-bench.ts: receive-only feed sockets, one per node (its
// node token), opened and acknowledging as the agent does (parse each message, ack what it holds,
// paced by the agent's AckPacer) and writing no maps, so that several of these processes measure
// the control plane's fan-out rather than a load generator's event loop. Each arriving ipcache entry is timed against its
// batch's `committed-at` (same machine clock); the parent hears, per entry, once every socket
// here has it.
import WebSocket from 'ws';
import type { FeedMessage } from '../src/core/feed.js';
import { AckPacer } from '../src/shim/agent/ack-pacer.js';
import { FEED_SOCKET_OPTIONS } from '../src/shim/agent/agent.js';

export interface SocketAgentsConfig {
  /** ws:// base of the cluster: `<base>/feed/ws?since=0`. */
  base: string;
  nodes: { node: string; token: string }[];
}

/** Child → parent messages. */
export type SocketAgentsReport =
  | { kind: 'ready' }
  /** Every socket of this process holds `prefix`: the first and last arrival, ms after its commit. */
  | { kind: 'entry'; prefix: string; first: number; last: number }
  | { kind: 'error'; message: string };

const now = () => performance.timeOrigin + performance.now();

function report(message: SocketAgentsReport): void {
  process.send!(message);
}

function connect(config: SocketAgentsConfig, node: { node: string; token: string }, arrived: (prefix: string, delay: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${config.base}/feed/ws?since=0`, { ...FEED_SOCKET_OPTIONS, headers: { authorization: `Bearer ${node.token}` } });
    // The agent's ack, paced as the agent paces it: whole revisions, or the chunks of the next one held.
    let ack = '';
    const acks = new AckPacer(() => ws.send(ack));
    ws.on('open', () => resolve());
    ws.on('error', reject);
    ws.on('close', (code) => report({ kind: 'error', message: `${node.node}: socket closed (${code})` }));
    ws.on('message', (data) => {
      const at = now();
      const text = String(data);
      const page = JSON.parse(text) as FeedMessage;
      if (page.resync) return report({ kind: 'error', message: `${node.node}: told to resync` });
      const lastBatch = page.batches[page.batches.length - 1];
      if (lastBatch === undefined) return;
      ack = JSON.stringify(lastBatch.last === false ? { ack: lastBatch.revision - 1, chunk: (lastBatch.chunk ?? 0) + 1 } : { ack: lastBatch.revision });
      acks.applied(text.length, page['ack-now'] === true);
      for (const batch of page.batches) {
        for (const e of batch.events) if (e.type === 'ipcache-upsert' && batch['committed-at'] !== undefined) arrived(e.prefix, at - batch['committed-at']);
      }
    });
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.SOCKET_AGENTS_CONFIG!) as SocketAgentsConfig;
  const held = new Map<string, number[]>();
  const arrived = (prefix: string, delay: number) => {
    const delays = held.get(prefix) ?? [];
    delays.push(delay);
    held.set(prefix, delays);
    if (delays.length < config.nodes.length) return;
    held.delete(prefix);
    report({ kind: 'entry', prefix, first: Math.min(...delays), last: Math.max(...delays) });
  };
  await Promise.all(config.nodes.map((n) => connect(config, n, arrived)));
  report({ kind: 'ready' });
}

main().catch((e: unknown) => {
  report({ kind: 'error', message: String(e) });
  process.exit(1);
});
