// Node registration, heartbeats, lease expiry and removal.
import type { Heartbeat, Node, NodeList, NodeRegistration, NodeSpec } from '../../src/api/nodes.js';
import { hashToken } from '../../src/core/auth.js';
import { DomainError } from '../../src/core/errors.js';
import { parseIp } from '../../src/core/ip.js';
import type { ClusterState } from '../cluster-state.js';
import { toNode } from '../models.js';
import { removeEndpoint } from './endpoints.js';

function nodeAddress(field: string, s: string | undefined, family: 4 | 6): string | null {
  if (s === undefined) return null;
  const ip = parseIp(s, family);
  if (!ip) throw new DomainError('invalid-ip', `${field}: ${JSON.stringify(s)} is not an IPv${family} address`);
  return ip.text;
}

/** A node token: `<node>.<secret>`, 32 random bytes of secret in base64url. */
function newNodeToken(node: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const secret = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${node}.${secret}`;
}

/** Registers or updates a node. A token is issued (and returned, once) on creation or rotation. */
export function putNode(state: ClusterState, name: string, spec: NodeSpec, now: number): { created: boolean; node: NodeRegistration } {
  const ipv4 = nodeAddress('ipv4', spec.ipv4, 4);
  const ipv6 = nodeAddress('ipv6', spec.ipv6, 6);
  const before = state.nodes.hostIp(name);
  const issue = before === undefined || spec['rotate-token'] === true;
  const token = issue ? newNodeToken(name) : undefined;
  const created = state.nodes.upsert({ name, ipv4, ipv6, leaseSeconds: spec['lease-seconds'] ?? 0, tokenHash: token && hashToken(token) }, now);
  state.emit({ type: 'node-upsert', name, ipv4, ipv6 });
  const hostIp = ipv4 ?? ipv6;
  if (!created && hostIp !== before) {
    // The tunnel endpoint of this node's pods moved: every other node must rewrite their entries.
    for (const e of state.ipcache.onNode(name)) {
      state.emit({ type: 'ipcache-upsert', prefix: e.prefix, identity: e.identity, 'host-ip': hostIp, node: name, endpoint: e.endpoint });
    }
  }
  state.bumpRevision(now);
  return { created, node: { ...getNode(state, name), ...(token ? { token } : {}) } };
}

export function getNode(state: ClusterState, name: string): Node {
  const row = state.nodes.get(name);
  if (!row) throw new DomainError('node-not-found', `node ${JSON.stringify(name)} not found`);
  return toNode(row, state.revision());
}

export function listNodes(state: ClusterState): NodeList {
  const revision = state.revision();
  return { revision, nodes: state.nodes.list().map((row) => toNode(row, revision)) };
}

export function heartbeat(state: ClusterState, name: string, beat: Heartbeat, now: number): Node {
  getNode(state, name);
  state.nodes.heartbeat(name, beat['applied-revision'], now);
  return getNode(state, name);
}

/** Removes a node with all its endpoints (identities released, ipcache entries deleted). */
function removeNode(state: ClusterState, name: string, now: number): number {
  const endpoints = state.endpoints.onNode(name);
  for (const ep of endpoints) removeEndpoint(state, ep, now);
  state.nodes.delete(name);
  state.emit({ type: 'node-delete', name });
  return endpoints.length;
}

export function deleteNode(state: ClusterState, name: string, now: number): { name: string; 'endpoints-removed': number } {
  getNode(state, name);
  const removed = removeNode(state, name, now);
  state.bumpRevision(now);
  return { name, 'endpoints-removed': removed };
}

/**
 * Removes every node whose lease lapsed, in the caller's transaction, one revision per node so
 * that a zone outage does not make one oversized feed row.
 */
export function expireNodes(state: ClusterState, now: number): string[] {
  const expired = state.nodes.expired(now);
  for (const name of expired) {
    removeNode(state, name, now);
    state.bumpRevision(now);
  }
  return expired;
}
