// Endpoint references in Cilium's ID forms (pkg/endpoint/id): `N` / `cilium-local:N`,
// `cni-attachment-id:<container-id>[:<ifname>]`, `container-id:<id>`, `pod-name:<ns>:<pod>`.
import { DomainError } from './errors.js';
import { isDns1123Label, isDns1123Subdomain } from './k8s-names.js';

/** Node-local endpoint numbers, as Cilium's endpoint ID allocator (idallocator minID/maxID). */
export const MIN_ENDPOINT_ID = 1;
export const MAX_ENDPOINT_ID = 4095;

export type EndpointRef =
  | { kind: 'id'; id: number }
  | { kind: 'cni-attachment'; containerId: string; ifname: string | undefined }
  | { kind: 'container-id'; containerId: string }
  | { kind: 'pod-name'; namespace: string; pod: string };

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// Linux IFNAMSIZ is 16 with the NUL; no '/', ':' or whitespace.
const IFNAME = /^[^\s/:]{1,15}$/;

export function isValidContainerId(s: string): boolean {
  return CONTAINER_ID.test(s);
}

export function isValidIfname(s: string): boolean {
  return IFNAME.test(s) && s !== '.' && s !== '..';
}

/** STABLE FORMAT (stored as endpoints.attachment_id): Cilium's cni-attachment-id `<container-id>[:<ifname>]`. */
export function formatAttachmentId(containerId: string, ifname: string | null | undefined): string {
  return ifname == null ? containerId : `${containerId}:${ifname}`;
}

function invalid(ref: string, why: string): DomainError {
  return new DomainError('invalid-endpoint-ref', `endpoint reference ${JSON.stringify(ref)}: ${why}`);
}

function parseLocalId(ref: string, digits: string, allowZero: boolean): EndpointRef {
  // Go's strconv.ParseUint(s, 10, 16): decimal digits only.
  if (!/^[0-9]{1,5}$/.test(digits)) throw invalid(ref, 'endpoint ID must be a decimal number');
  const id = Number(digits);
  if (id === 0 && allowZero) return { kind: 'id', id };
  if (id < MIN_ENDPOINT_ID || id > MAX_ENDPOINT_ID) {
    throw invalid(ref, `endpoint ID must be in ${MIN_ENDPOINT_ID}..${MAX_ENDPOINT_ID}${allowZero ? ' (0 picks one)' : ''}`);
  }
  return { kind: 'id', id };
}

/**
 * Parses a reference. `forCreate` admits the create-only forms: ID 0 (the DO picks the lowest
 * free number) and no others are rejected, while lookups also accept container-id and pod-name.
 */
export function parseEndpointRef(ref: string, forCreate: boolean): EndpointRef {
  const colon = ref.indexOf(':');
  if (colon < 0) return parseLocalId(ref, ref, forCreate);
  const prefix = ref.slice(0, colon);
  const rest = ref.slice(colon + 1);
  switch (prefix) {
    case 'cilium-local':
      return parseLocalId(ref, rest, forCreate);
    case 'cni-attachment-id': {
      const sep = rest.indexOf(':');
      const containerId = sep < 0 ? rest : rest.slice(0, sep);
      const ifname = sep < 0 ? undefined : rest.slice(sep + 1);
      if (!isValidContainerId(containerId)) throw invalid(ref, 'invalid container ID');
      if (ifname !== undefined && !isValidIfname(ifname)) throw invalid(ref, 'invalid interface name');
      return { kind: 'cni-attachment', containerId, ifname };
    }
    case 'container-id':
      if (forCreate) throw invalid(ref, 'create takes an endpoint ID or a cni-attachment-id');
      if (!isValidContainerId(rest)) throw invalid(ref, 'invalid container ID');
      return { kind: 'container-id', containerId: rest };
    case 'pod-name': {
      if (forCreate) throw invalid(ref, 'create takes an endpoint ID or a cni-attachment-id');
      // `<ns>:<pod>`; Cilium's own `<ns>/<pod>` spelling is accepted too.
      const sep = rest.search(/[:/]/);
      const namespace = sep < 0 ? '' : rest.slice(0, sep);
      const pod = sep < 0 ? '' : rest.slice(sep + 1);
      if (!isDns1123Label(namespace)) throw invalid(ref, 'namespace must be a DNS-1123 label');
      if (!isDns1123Subdomain(pod)) throw invalid(ref, 'pod name must be a DNS-1123 subdomain');
      return { kind: 'pod-name', namespace, pod };
    }
    default:
      throw invalid(ref, `unknown prefix ${JSON.stringify(prefix)}`);
  }
}
