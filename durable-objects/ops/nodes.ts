// Node registration and removal.
import type { Node, NodeList, NodeSpec } from '../../src/api/nodes.js';
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

export function putNode(state: ClusterState, name: string, spec: NodeSpec, now: number): { created: boolean; node: Node } {
  const ipv4 = nodeAddress('ipv4', spec.ipv4, 4);
  const ipv6 = nodeAddress('ipv6', spec.ipv6, 6);
  const created = state.nodes.upsert(name, ipv4, ipv6, now);
  state.bumpRevision();
  return { created, node: getNode(state, name) };
}

export function getNode(state: ClusterState, name: string): Node {
  const row = state.nodes.get(name);
  if (!row) throw new DomainError('node-not-found', `node ${JSON.stringify(name)} not found`);
  return toNode(row);
}

export function listNodes(state: ClusterState): NodeList {
  return { nodes: state.nodes.list().map(toNode) };
}

/** Deletes a node with all its endpoints, releasing their identities and ipcache entries. */
export function deleteNode(state: ClusterState, name: string, now: number): { name: string; 'endpoints-removed': number } {
  getNode(state, name);
  const endpoints = state.endpoints.onNode(name);
  for (const ep of endpoints) removeEndpoint(state, name, ep.id, ep.identity, now);
  state.nodes.delete(name);
  state.bumpRevision();
  return { name, 'endpoints-removed': endpoints.length };
}
