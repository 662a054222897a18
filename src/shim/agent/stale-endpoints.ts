// Endpoints whose CNI DEL never ran (the node rebooted, the runtime lost its state): their
// host-side interface is gone. A sweep notes each of this node's endpoints whose interface is
// missing, and removes through the control plane those still missing a grace period later, so an
// interface that is only being set up (or renamed) is never mistaken for a dead pod.
import type { Logger } from 'pino';
import type { Endpoint } from '../../api/endpoints.js';
import { ApiError, type ApiClient } from '../api-client.js';

export interface StaleEndpointOptions {
  node: string;
  /** The control plane with the node's token. */
  api: () => ApiClient;
  /** See hostInterfaceExists: undefined when it cannot tell. */
  interfaceExists: (name: string | undefined, index: number | undefined) => boolean | undefined;
  graceMs: number;
  now: () => number;
  logger: Logger;
  onRemoved?: (ep: Endpoint) => void;
}

/** The reference that names this very endpoint: its CNI attachment when it has one, else its ID. */
function refOf(ep: Endpoint): string {
  if (ep['container-id'] !== undefined && ep['container-interface-name'] !== undefined) return `cni-attachment-id:${ep['container-id']}:${ep['container-interface-name']}`;
  return String(ep.id);
}

export class StaleEndpointCollector {
  /** Endpoint (by reference) → when its interface was first seen missing. */
  private readonly missingSince = new Map<string, number>();

  constructor(private readonly o: StaleEndpointOptions) {}

  /** One pass over this node's endpoints; returns those it removed. */
  async sweep(): Promise<Endpoint[]> {
    const endpoints = await this.o.api().listNodeEndpoints(this.o.node);
    const now = this.o.now();
    const seen = new Set<string>();
    const removed: Endpoint[] = [];
    for (const ep of endpoints) {
      const ref = refOf(ep);
      seen.add(ref);
      if (this.o.interfaceExists(ep['interface-name'], ep['interface-index']) !== false) {
        this.missingSince.delete(ref);
        continue;
      }
      const since = this.missingSince.get(ref);
      if (since === undefined) {
        this.missingSince.set(ref, now);
        continue;
      }
      if (now - since < this.o.graceMs) continue;
      if (await this.remove(ep, ref)) removed.push(ep);
      this.missingSince.delete(ref);
    }
    // Endpoints gone by other means are forgotten: the map holds at most this node's endpoints.
    for (const ref of this.missingSince.keys()) if (!seen.has(ref)) this.missingSince.delete(ref);
    return removed;
  }

  private async remove(ep: Endpoint, ref: string): Promise<boolean> {
    try {
      await this.o.api().request('DELETE', `/nodes/${encodeURIComponent(this.o.node)}/endpoints/${encodeURIComponent(ref)}`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'endpoint-not-found') return false;
      throw e;
    }
    this.o.logger.warn(
      { endpoint: ep.id, ref, pod: ep['k8s-pod-name'] && `${ep['k8s-namespace']}/${ep['k8s-pod-name']}`, interface: ep['interface-name'] ?? ep['interface-index'] },
      "removed an endpoint whose host interface is gone (its CNI DEL never ran)",
    );
    this.o.onRemoved?.(ep);
    return true;
  }
}
