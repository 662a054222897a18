// A CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy object → idplane's rule model, checked in
// the order a real cluster checks it: kube-apiserver (object envelope, metadata, strict decoding,
// the CRD schema), then Cilium's parser and sanitizer, then idplane's subset. The first problem
// is thrown as `invalid-policy` (Cilium would refuse it too) or `unsupported-policy-field` (Cilium
// accepts it, idplane does not implement it), its message starting with the field path.
import { DomainError } from '../errors.js';
import { RULE_SCHEMA, type SchemaNode } from './crd-schema.js';
import {
  invalidValue,
  isDns1123Label,
  isDns1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  requiredValue,
  tooLong,
  unsupportedValue,
} from './k8s-field-errors.js';
import { ruleSanitizeError } from './rule-validation.js';
import type { PolicyDocument, PolicyKind } from './rule.js';
import { findUnknownField, isObject, pruneNulls, validateAgainstSchema, type JsonObject } from './schema-validate.js';
import { toRule } from './subset.js';

export const POLICY_API_VERSION = 'cilium.io/v2';

/** Where the object is being written: the route's kind, namespace (null for a CCNP) and name. */
export type PolicyTarget =
  | { kind: 'CiliumNetworkPolicy'; namespace: string; name: string }
  | { kind: 'CiliumClusterwideNetworkPolicy'; namespace: null; name: string };

/** The object metadata idplane keeps beside the rules (server-set fields are dropped). */
export interface PolicyMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface SanitizedPolicy {
  policy: PolicyDocument;
  metadata: PolicyMetadata;
}

const TOP_LEVEL_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'specs', 'status']);
/** ObjectMeta fields the server sets: accepted and ignored, as kube-apiserver ignores them on writes. */
const SERVER_SET_METADATA = new Set([
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
]);
/** ObjectMeta fields a client may set that idplane has no lifecycle for. */
const UNSUPPORTED_METADATA = new Set(['generateName', 'ownerReferences', 'finalizers']);
const KEPT_METADATA = new Set(['name', 'namespace', 'labels', 'annotations']);
const STRING_MAP: SchemaNode = { type: 'object', additionalProperties: { type: 'string' } };
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function invalid(message: string): never {
  throw new DomainError('invalid-policy', message);
}

function check(message: string | undefined): void {
  if (message !== undefined) invalid(message);
}

function checkTypeMeta(doc: JsonObject, target: PolicyTarget): void {
  for (const key of Object.keys(doc)) if (!TOP_LEVEL_FIELDS.has(key)) invalid(`${key}: unknown field ${JSON.stringify(key)}`);
  for (const [field, want] of [
    ['apiVersion', POLICY_API_VERSION],
    ['kind', target.kind],
  ] as const) {
    if (doc[field] === undefined) invalid(requiredValue(field));
    if (doc[field] !== want) invalid(unsupportedValue(field, doc[field], [want]));
  }
}

function checkName(meta: JsonObject, target: PolicyTarget): void {
  if (target.name === '') invalid(requiredValue('metadata.name', 'name or generateName is required'));
  const nameProblem = isDns1123Subdomain(target.name)[0];
  if (nameProblem) invalid(invalidValue('metadata.name', target.name, nameProblem));
  if (meta.name !== undefined && meta.name !== target.name) {
    invalid(invalidValue('metadata.name', meta.name, `the name of the object (${String(meta.name)}) does not match the name on the URL (${target.name})`));
  }
  const namespace = meta.namespace ?? '';
  if (target.namespace === null) {
    if (namespace !== '') invalid(invalidValue('metadata.namespace', namespace, `a ${target.kind} is cluster-scoped and has no namespace`));
    return;
  }
  const nsProblem = isDns1123Label(target.namespace)[0];
  if (nsProblem) invalid(invalidValue('metadata.namespace', target.namespace, nsProblem));
  if (namespace !== '' && namespace !== target.namespace) {
    invalid(invalidValue('metadata.namespace', namespace, 'the namespace of the provided object does not match the namespace sent on the request'));
  }
}

/** ObjectMeta validation (ValidateObjectMeta): names, labels, annotations; returns what idplane keeps. */
function checkMetadata(raw: unknown, target: PolicyTarget): { meta: JsonObject; kept: PolicyMetadata } {
  if (raw !== undefined && !isObject(raw)) check(validateAgainstSchema(raw, { type: 'object' }, 'metadata'));
  const meta = (raw ?? {}) as JsonObject;
  for (const key of Object.keys(meta)) {
    if (!KEPT_METADATA.has(key) && !SERVER_SET_METADATA.has(key) && !UNSUPPORTED_METADATA.has(key)) {
      invalid(`metadata.${key}: unknown field ${JSON.stringify(`metadata.${key}`)}`);
    }
  }
  for (const key of ['name', 'namespace'] as const) {
    if (meta[key] !== undefined) check(validateAgainstSchema(meta[key], { type: 'string' }, `metadata.${key}`));
  }
  checkName(meta, target);
  const labels = (meta.labels ?? {}) as Record<string, string>;
  const annotations = (meta.annotations ?? {}) as Record<string, string>;
  check(validateAgainstSchema(labels, STRING_MAP, 'metadata.labels'));
  check(validateAgainstSchema(annotations, STRING_MAP, 'metadata.annotations'));
  for (const [key, value] of Object.entries(labels)) {
    for (const msg of isQualifiedName(key)) invalid(invalidValue('metadata.labels', key, msg));
    for (const msg of isValidLabelValue(value)) invalid(invalidValue('metadata.labels', value, msg));
  }
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(key.toLowerCase())) invalid(invalidValue('metadata.annotations', key, msg));
    size += new TextEncoder().encode(key + value).length;
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) invalid(tooLong('metadata.annotations', TOTAL_ANNOTATION_SIZE_LIMIT));
  return { meta, kept: { labels: { ...labels }, annotations: { ...annotations } } };
}

/** The rules of the object with their paths: `spec` first, then each of `specs`. */
function rulesOf(doc: JsonObject): [JsonObject, string][] {
  const rules: [JsonObject, string][] = [];
  if (doc.spec !== undefined) rules.push([doc.spec as JsonObject, 'spec']);
  if (Array.isArray(doc.specs)) doc.specs.forEach((r, i) => rules.push([r as JsonObject, `specs[${i}]`]));
  return rules;
}

/** kube-apiserver on `spec`/`specs`: unknown fields first (decoding), then the CRD schema. */
function checkSchema(doc: JsonObject): void {
  const specsSchema: SchemaNode = { type: 'array', items: RULE_SCHEMA };
  for (const [value, schema, path] of [
    [doc.spec, RULE_SCHEMA, 'spec'],
    [doc.specs, specsSchema, 'specs'],
  ] as const) {
    if (value !== undefined) check(findUnknownField(value, schema, path));
  }
  for (const [value, schema, path] of [
    [doc.spec, RULE_SCHEMA, 'spec'],
    [doc.specs, specsSchema, 'specs'],
  ] as const) {
    if (value !== undefined) check(validateAgainstSchema(value, schema, path));
  }
}

/** CiliumNetworkPolicy.Parse / CiliumClusterwideNetworkPolicy.Parse: empty policy, then each rule's Sanitize. */
function checkCiliumParse(doc: JsonObject, kind: PolicyKind): void {
  if (doc.spec === undefined && doc.specs === undefined) invalid(`Invalid ${kind} spec(s): empty policy`);
  for (const [rule, path] of rulesOf(doc)) {
    check(ruleSanitizeError(rule, path));
    if (kind === 'CiliumNetworkPolicy' && path === 'spec' && rule.nodeSelector !== undefined) {
      invalid('spec.nodeSelector: rule cannot have NodeSelector');
    }
  }
}

/**
 * Validates a parsed CNP/CCNP object for the route `target` and returns its rules (`spec` then
 * `specs`) and the metadata idplane keeps. `status` and server-set metadata are ignored.
 */
export function sanitizePolicy(raw: unknown, target: PolicyTarget): SanitizedPolicy {
  if (!isObject(raw)) invalid(`the policy must be an object, not ${Array.isArray(raw) ? 'a list' : raw === null ? 'null' : typeof raw}`);
  const doc = pruneNulls(raw) as JsonObject;
  checkTypeMeta(doc, target);
  const { meta, kept } = checkMetadata(doc.metadata, target);
  checkSchema(doc);
  checkCiliumParse(doc, target.kind);
  for (const key of Object.keys(meta)) {
    if (UNSUPPORTED_METADATA.has(key)) throw new DomainError('unsupported-policy-field', `metadata.${key}: is not supported by idplane`);
  }
  const rules = rulesOf(doc).map(([rule, path]) => toRule(rule, path));
  return { policy: { kind: target.kind, namespace: target.namespace, name: target.name, rules }, metadata: kept };
}
