// Loading what the maps are reconciled with: the node's own state (every node's addresses, its
// endpoints, the policies of the identities it hosts) and, at a resync, the whole ipcache. The
// ipcache is read first: its revision is where the feed resumes, and every later listing is at
// or after it, so the feed replays whatever they are ahead by.
import type { Endpoint } from '../../api/endpoints.js';
import type { IpcacheEntry } from '../../api/identities.js';
import type { ApiClient } from '../api-client.js';
import { NodeView } from './node-view.js';

export interface Snapshot {
  /** The ipcache and its revision; undefined for the node's own state alone (a restart). */
  ipcache: { revision: number; entries: IpcacheEntry[] } | undefined;
  own: Endpoint[];
  view: NodeView;
}

export async function loadSnapshot(client: ApiClient, node: string, withIpcache: boolean): Promise<Snapshot> {
  const ipcache = withIpcache ? await client.ipcacheSnapshot() : undefined;
  const { nodes } = await client.listNodes();
  const own = await client.listNodeEndpoints(node);
  const { identities } = await client.nodePolicySnapshot(node);
  return { ipcache, own, view: NodeView.fromSnapshot({ nodes, own, policies: identities }) };
}
