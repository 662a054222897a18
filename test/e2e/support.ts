// Helpers shared by tests that talk to a real `wrangler dev`, the agent's socket and BPF maps.
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import type { WranglerDev } from './wrangler-dev.js';

/** Retries `check` until it passes or `ms` run out (then its last failure is thrown). */
export async function eventually(check: () => Promise<void> | void, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** An admin-token JSON client for one cluster; a non-2xx answer throws with its body. */
export function clusterApi(dev: () => WranglerDev, cluster: string) {
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${dev().url}/v1/clusters/${cluster}${path}`, {
      method,
      headers: { authorization: `Bearer ${dev().token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** Puts a cluster in the registry: every route of a cluster needs that first. */
export async function putCluster(dev: WranglerDev, cluster: string, clusterId = 0): Promise<void> {
  const res = await fetch(`${dev.url}/v1/clusters/${cluster}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ 'cluster-id': clusterId }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT cluster ${cluster}: ${res.status} ${await res.text()}`);
}

/** A JSON request to an HTTP server on a unix socket (the agent's local API). */
export function unixSocketRequest(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** bpftool map lookup in a pinned map: the value bytes, or null when the key misses. */
export function lookupPinned(pin: string, key: Uint8Array): Uint8Array | null {
  const hex = [...key].map((b) => b.toString(16).padStart(2, '0'));
  try {
    const out = execFileSync('bpftool', ['-j', 'map', 'lookup', 'pinned', pin, 'key', 'hex', ...hex], { stdio: ['ignore', 'pipe', 'pipe'] });
    return Uint8Array.from((JSON.parse(out.toString()) as { value: string[] }).value.map((h) => parseInt(h, 16)));
  } catch {
    return null;
  }
}
