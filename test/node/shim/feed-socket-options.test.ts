// The agent's feed socket offers no permessage-deflate: the control plane would otherwise
// compress each message once per node socket (measured: most of a commit's fan-out cost at 100
// nodes). Against a server that accepts compression, the agent's options negotiate none.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { FEED_SOCKET_OPTIONS } from '../../../src/shim/agent/agent.js';

let server: WebSocketServer;
const offered: (string | undefined)[] = [];

beforeAll(async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
  server.on('connection', (_ws, req) => offered.push(req.headers['sec-websocket-extensions']));
  await new Promise((r) => server.once('listening', r));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('feed socket options', () => {
  it.each([
    { name: "ws's defaults negotiate compression with such a server", options: {}, want: 'permessage-deflate' },
    { name: "the agent's options negotiate none", options: FEED_SOCKET_OPTIONS, want: '' },
  ])('$name', async ({ options, want }) => {
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    expect(ws.extensions).toBe(want);
    expect(offered.at(-1) !== undefined).toBe(want !== '');
    ws.close();
  });
});
