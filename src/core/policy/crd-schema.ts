// The `spec` schema of Cilium v1.18's CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy CRDs
// (pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml, descriptions dropped; both
// CRDs share it, and `specs` is a list of it). kube-apiserver enforces this before Cilium sees a
// policy, so idplane enforces it first too (schema-validate.ts). Fields outside idplane's subset
// are here as well: Cilium accepts them, so they must be valid before being called unsupported.
import { ENTITIES } from './rule.js';

export interface SchemaPattern {
  /** The pattern as the CRD writes it (quoted in messages). */
  source: string;
  /** A linear-time test equivalent to `source` (Go's RE2 never backtracks; JS regexes can). */
  test: (s: string) => boolean;
}

export interface SchemaNode {
  type: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'int-or-string';
  properties?: Readonly<Record<string, SchemaNode>>;
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  required?: readonly string[];
  enum?: readonly string[];
  pattern?: SchemaPattern;
  /** `cidr`: the CRD's format; `cidr-or-ip`: idplane also takes a bare IP there (POLICY.md §9, §10). */
  format?: 'cidr' | 'cidr-or-ip';
  maxLength?: number;
  minLength?: number;
  maxItems?: number;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  /** x-kubernetes-list-type: set (no duplicate items). */
  listSet?: boolean;
  /** `oneOf` / `anyOf` whose branches each only require one of these keys (all the CRD uses). */
  oneOfRequired?: readonly string[];
  anyOfRequired?: readonly string[];
  /** Cilium's sanitizer wording for the same rule, used instead of the generic composite message. */
  anyOfMessage?: string;
  oneOfMessages?: { none: string; many: string };
}

type Opts = Omit<SchemaNode, 'type' | 'properties' | 'items' | 'additionalProperties'>;

const str = (o: Opts = {}): SchemaNode => ({ type: 'string', ...o });
const int = (o: Opts = {}): SchemaNode => ({ type: 'integer', ...o });
const bool = (): SchemaNode => ({ type: 'boolean' });
const obj = (properties: Record<string, SchemaNode>, o: Opts = {}): SchemaNode => ({ type: 'object', properties, ...o });
const arr = (items: SchemaNode, o: Opts = {}): SchemaNode => ({ type: 'array', items, ...o });
const map = (values: SchemaNode): SchemaNode => ({ type: 'object', additionalProperties: values });

const regex = (source: string, flags = ''): SchemaPattern => {
  const re = new RegExp(source, flags);
  return { source, test: (s) => re.test(s) };
};

/** Same language as `source`, written without nested quantifiers. */
const rewritten = (source: string, linear: RegExp): SchemaPattern => ({ source, test: (s) => linear.test(s) });

const PORT_NUMBER_PREFIX = /^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})/;
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[a-zA-Z0-9]/.test(c);

/**
 * The CRD's port pattern is anchored only at its ends: a string passes when it starts with a port
 * number, or when some suffix is a service-name-like word (`([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$`).
 * The longest such suffix contains a letter iff any does, so one backward scan decides it.
 */
function matchesPortPattern(s: string): boolean {
  if (PORT_NUMBER_PREFIX.test(s)) return true;
  if (!isAlnum(s[s.length - 1])) return false;
  let start = s.length - 1;
  while (start > 0) {
    if (isAlnum(s[start - 1])) start--;
    else if (s[start - 1] === '-' && isAlnum(s[start - 2])) start -= 2;
    else break;
  }
  return /[a-zA-Z]/.test(s.slice(start));
}

const PORT_PATTERN: SchemaPattern = {
  source:
    '^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$',
  test: matchesPortPattern,
};

const LABEL_VALUE_PATTERN = regex('^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$');

export const LABEL_SELECTOR_SCHEMA = obj({
  matchExpressions: arr(
    obj(
      { key: str(), operator: str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }), values: arr(str()) },
      { required: ['key', 'operator'] },
    ),
  ),
  matchLabels: map(str({ maxLength: 63, pattern: LABEL_VALUE_PATTERN })),
});

const CIDR = str({ format: 'cidr' });
/** fromCIDR/toCIDR items: a prefix, or a bare IP counted as /32 or /128 (Cilium's ip.ParsePrefixes). */
const CIDR_OR_IP = str({ format: 'cidr-or-ip' });

const CIDR_RULE = obj(
  {
    cidr: CIDR,
    cidrGroupRef: str({ maxLength: 253, pattern: regex('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$') }),
    cidrGroupSelector: LABEL_SELECTOR_SCHEMA,
    except: arr(CIDR),
  },
  {
    oneOfRequired: ['cidr', 'cidrGroupRef', 'cidrGroupSelector'],
    oneOfMessages: {
      none: 'one of cidr, cidrGroupRef, or cidrGroupSelector is required',
      many: 'more than one of cidr, cidrGroupRef, or cidrGroupSelector may not be set',
    },
  },
);

const FQDN_SELECTOR = obj(
  {
    matchName: str({ maxLength: 255, pattern: rewritten('^([-a-zA-Z0-9_]+[.]?)+$', /^[-a-zA-Z0-9_]+(\.[-a-zA-Z0-9_]+)*\.?$/) }),
    matchPattern: str({ maxLength: 255, pattern: rewritten('^([-a-zA-Z0-9_*]+[.]?)+$', /^[-a-zA-Z0-9_*]+(\.[-a-zA-Z0-9_*]+)*\.?$/) }),
  },
  { oneOfRequired: ['matchName', 'matchPattern'] },
);

const PORT_PROTOCOL = obj(
  {
    endPort: int({ minimum: 0, maximum: 65535 }),
    port: str({ pattern: PORT_PATTERN }),
    protocol: str({ enum: ['TCP', 'UDP', 'SCTP', 'ANY'] }),
  },
  { required: ['port'] },
);

const SECRET = obj({ name: str(), namespace: str() }, { required: ['name'] });
const TLS_CONTEXT = obj({ certificate: str(), privateKey: str(), secret: SECRET, trustedCA: str() }, { required: ['secret'] });

const L7_RULES = obj(
  {
    dns: arr(FQDN_SELECTOR),
    http: arr(
      obj({
        headerMatches: arr(
          obj(
            { mismatch: str({ enum: ['LOG', 'ADD', 'DELETE', 'REPLACE'] }), name: str({ minLength: 1 }), secret: SECRET, value: str() },
            { required: ['name'] },
          ),
        ),
        headers: arr(str()),
        host: str(),
        method: str(),
        path: str(),
      }),
    ),
    kafka: arr(
      obj({
        apiKey: str(),
        apiVersion: str(),
        clientID: str(),
        role: str({ enum: ['produce', 'consume'] }),
        topic: str({ maxLength: 255 }),
      }),
    ),
    l7: arr(map(str())),
    l7proto: str(),
  },
  { oneOfRequired: ['http', 'kafka', 'dns', 'l7proto'] },
);

const PORT_RULE = obj({
  listener: obj(
    {
      envoyConfig: obj(
        { kind: str({ enum: ['CiliumEnvoyConfig', 'CiliumClusterwideEnvoyConfig'] }), name: str({ minLength: 1 }) },
        { required: ['name'] },
      ),
      name: str({ minLength: 1 }),
      priority: int({ minimum: 1, maximum: 100 }),
    },
    { required: ['envoyConfig', 'name'] },
  ),
  originatingTLS: TLS_CONTEXT,
  ports: arr(PORT_PROTOCOL, { maxItems: 40 }),
  rules: L7_RULES,
  serverNames: arr(
    str({
      maxLength: 255,
      pattern: rewritten('^(\\*?\\*\\.)?([-a-zA-Z0-9_]+\\.?)+$', /^(\*?\*\.)?[-a-zA-Z0-9_]+(\.[-a-zA-Z0-9_]+)*\.?$/),
    }),
    { minItems: 1, listSet: true },
  ),
  terminatingTLS: TLS_CONTEXT,
});

const PORT_DENY_RULE = obj({ ports: arr(PORT_PROTOCOL) });

const ICMP_RULE = obj({
  fields: arr(
    obj(
      {
        family: str({ enum: ['IPv4', 'IPv6'] }),
        type: {
          type: 'int-or-string',
          pattern: regex(
            '^([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]|EchoReply|DestinationUnreachable|Redirect|Echo|RouterAdvertisement|RouterSelection|TimeExceeded|ParameterProblem|Timestamp|TimestampReply|Photuris|ExtendedEchoRequest|ExtendedEcho Reply|PacketTooBig|ParameterProblem|EchoRequest|MulticastListenerQuery|MulticastListenerReport|MulticastListenerDone|RouterSolicitation|RouterAdvertisement|NeighborSolicitation|NeighborAdvertisement|RedirectMessage|RouterRenumbering|ICMPNodeInformationQuery|ICMPNodeInformationResponse|InverseNeighborDiscoverySolicitation|InverseNeighborDiscoveryAdvertisement|HomeAgentAddressDiscoveryRequest|HomeAgentAddressDiscoveryReply|MobilePrefixSolicitation|MobilePrefixAdvertisement|DuplicateAddressRequestCodeSuffix|DuplicateAddressConfirmationCodeSuffix)$',
          ),
        },
      },
      { required: ['type'] },
    ),
    { maxItems: 40 },
  ),
});

const AUTHENTICATION = obj({ mode: str({ enum: ['disabled', 'required', 'test-always-fail'] }) }, { required: ['mode'] });
const GROUP = obj({
  aws: obj({ labels: map(str()), region: str(), securityGroupsIds: arr(str()), securityGroupsNames: arr(str()) }),
});
const SERVICE = obj({
  k8sService: obj({ namespace: str(), serviceName: str() }),
  k8sServiceSelector: obj({ namespace: str(), selector: LABEL_SELECTOR_SCHEMA }, { required: ['selector'] }),
});
const SELECTORS = arr(LABEL_SELECTOR_SCHEMA);
const ENTITY_LIST = arr(str({ enum: ENTITIES }));

const INGRESS_PEERS = {
  fromCIDR: arr(CIDR_OR_IP),
  fromCIDRSet: arr(CIDR_RULE),
  fromEndpoints: SELECTORS,
  fromEntities: ENTITY_LIST,
  fromGroups: arr(GROUP),
  fromNodes: SELECTORS,
  fromRequires: SELECTORS,
  icmps: arr(ICMP_RULE),
};
const EGRESS_PEERS = {
  icmps: arr(ICMP_RULE),
  toCIDR: arr(CIDR_OR_IP),
  toCIDRSet: arr(CIDR_RULE),
  toEndpoints: SELECTORS,
  toEntities: ENTITY_LIST,
  toGroups: arr(GROUP),
  toNodes: SELECTORS,
  toRequires: SELECTORS,
  toServices: arr(SERVICE),
};

/** One rule: the schema of `spec` and of each `specs` item. */
export const RULE_SCHEMA: SchemaNode = obj(
  {
    description: str(),
    egress: arr(obj({ ...EGRESS_PEERS, authentication: AUTHENTICATION, toFQDNs: arr(FQDN_SELECTOR), toPorts: arr(PORT_RULE) })),
    egressDeny: arr(obj({ ...EGRESS_PEERS, toPorts: arr(PORT_DENY_RULE) })),
    enableDefaultDeny: obj({ egress: bool(), ingress: bool() }),
    endpointSelector: LABEL_SELECTOR_SCHEMA,
    ingress: arr(obj({ ...INGRESS_PEERS, authentication: AUTHENTICATION, toPorts: arr(PORT_RULE) })),
    ingressDeny: arr(obj({ ...INGRESS_PEERS, toPorts: arr(PORT_DENY_RULE) })),
    labels: arr(obj({ key: str(), source: str(), value: str() }, { required: ['key'] })),
    log: obj({ value: str({ maxLength: 32, pattern: rewritten('^\\PC*$', /^\P{C}*$/u) }) }),
    nodeSelector: LABEL_SELECTOR_SCHEMA,
  },
  {
    anyOfRequired: ['ingress', 'ingressDeny', 'egress', 'egressDeny'],
    anyOfMessage: 'rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny',
    oneOfRequired: ['endpointSelector', 'nodeSelector'],
    oneOfMessages: {
      none: 'rule must have one of EndpointSelector or NodeSelector',
      many: 'rule cannot have both EndpointSelector and NodeSelector',
    },
  },
);
