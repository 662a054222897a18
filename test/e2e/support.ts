// Helpers shared by tests that talk to a real `wrangler dev`.
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
