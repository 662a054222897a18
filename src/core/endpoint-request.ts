// Validates and normalises an endpoint create request (Cilium's EndpointChangeRequest subset)
// before any state is touched: every problem is a DomainError naming the field, and one request
// has one normal form (its fingerprint). Pure, so that the control plane, the node agent and the
// CNI plugin check a create the same way.
import { composeEndpointLabels } from './endpoint-labels.js';
import { formatAttachmentId, isValidContainerId, isValidIfname, parseEndpointRef, type EndpointRef } from './endpoint-ref.js';
import { DomainError } from './errors.js';
import { sha256Hex } from './identity-key.js';
import { parsePodIpField, type ParsedIp } from './ip.js';
import { isDns1123Label, isDns1123Subdomain } from './k8s-names.js';
import { sortedList, type Label } from './labels.js';

/** The fields of a create request this normalisation reads (src/api's EndpointChangeRequest). */
export interface EndpointCreateRequest {
  addressing?: { ipv4?: string; ipv6?: string };
  labels?: readonly string[];
  'k8s-namespace'?: string;
  'k8s-pod-name'?: string;
  'container-id'?: string;
  'container-interface-name'?: string;
  'interface-name'?: string;
  'interface-index'?: number;
  mac?: string;
  'host-mac'?: string;
}

export interface NormalisedCreate {
  ref: EndpointRef;
  containerId: string | null;
  containerIfname: string | null;
  /** Cilium's cni-attachment-id: `<container-id>[:<ifname>]`, when a container ID is known. */
  attachmentId: string | null;
  namespace: string | null;
  podName: string | null;
  interfaceName: string | null;
  interfaceIndex: number | null;
  mac: string | null;
  hostMac: string | null;
  ipv4: ParsedIp | null;
  ipv6: ParsedIp | null;
  labels: Map<string, Label>;
  /** SHA-256 of the normal form: an identical CNI ADD retry has the same fingerprint. */
  fingerprint: string;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function invalid(field: string, why: string): DomainError {
  return new DomainError('invalid-request', `${field}: ${why}`);
}

function parseMac(field: string, s: string | undefined): string | null {
  if (s === undefined) return null;
  if (!MAC.test(s)) throw invalid(field, 'must be a MAC address aa:bb:cc:dd:ee:ff');
  return s.toLowerCase();
}

export function normaliseCreate(refText: string, req: EndpointCreateRequest, cluster: string): NormalisedCreate {
  const ref = parseEndpointRef(refText, true);
  const namespace = req['k8s-namespace'] ?? null;
  if (namespace !== null && !isDns1123Label(namespace)) throw invalid('k8s-namespace', 'must be a DNS-1123 label');
  const podName = req['k8s-pod-name'] ?? null;
  if (podName !== null && !isDns1123Subdomain(podName)) throw invalid('k8s-pod-name', 'must be a DNS-1123 subdomain');

  let containerId = req['container-id'] ?? null;
  let containerIfname = req['container-interface-name'] ?? null;
  if (containerId !== null && !isValidContainerId(containerId)) throw invalid('container-id', 'invalid container ID');
  if (containerIfname !== null && !isValidIfname(containerIfname)) throw invalid('container-interface-name', 'invalid interface name');
  if (ref.kind === 'cni-attachment') {
    // The reference names the attachment; the body may repeat it but not contradict it.
    if (containerId !== null && containerId !== ref.containerId) throw invalid('container-id', 'differs from the cni-attachment-id');
    if (containerIfname !== null && ref.ifname !== undefined && containerIfname !== ref.ifname) {
      throw invalid('container-interface-name', 'differs from the cni-attachment-id');
    }
    containerId = ref.containerId;
    containerIfname ??= ref.ifname ?? null;
  }
  if (containerIfname !== null && containerId === null) throw invalid('container-interface-name', 'needs a container-id');
  const attachmentId = containerId === null ? null : formatAttachmentId(containerId, containerIfname);

  const interfaceName = req['interface-name'] ?? null;
  if (interfaceName !== null && !isValidIfname(interfaceName)) throw invalid('interface-name', 'invalid interface name');
  const labels = composeEndpointLabels({ labels: req.labels ?? [], namespace: namespace ?? undefined, cluster });
  const normal: Omit<NormalisedCreate, 'fingerprint' | 'labels'> = {
    ref,
    containerId,
    containerIfname,
    attachmentId,
    namespace,
    podName,
    interfaceName,
    interfaceIndex: req['interface-index'] ?? null,
    mac: parseMac('mac', req.mac),
    hostMac: parseMac('host-mac', req['host-mac']),
    ipv4: parsePodIpField('addressing.ipv4', req.addressing?.ipv4, 4),
    ipv6: parsePodIpField('addressing.ipv6', req.addressing?.ipv6, 6),
  };
  const fingerprint = sha256Hex(
    JSON.stringify({ ...normal, ipv4: normal.ipv4?.text, ipv6: normal.ipv6?.text, labels: sortedList(labels) }),
  );
  return { ...normal, labels, fingerprint };
}
