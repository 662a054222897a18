// Policy documents as text: the body of a policy PUT (YAML or JSON, at most 1 MiB) and the
// multi-document YAML that `idplane apply -f` reads (CNPs and CCNPs mixed, Lists flattened as
// kubectl does). YAML is read as YAML 1.1, as kubectl's sigs.k8s.io/yaml reads it (`yes` is a
// boolean), keeping timestamps and sexagesimal-looking scalars as strings.
import { parseAllDocuments, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToJSOptions } from 'yaml';
import { DomainError } from '../errors.js';
import type { PolicyKind } from './rule.js';
import { isObject } from './schema-validate.js';

export const POLICY_BODY_LIMIT = 1024 * 1024;
/** Bounds the objects one `idplane apply -f` file may expand to (Lists included). */
export const MAX_APPLY_DOCUMENTS = 10000;

const YAML_MEDIA_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'application/apply-patch+yaml']);
const DROPPED_YAML_TAGS = /timestamp|binary|omap|pairs|set$|TIME/;

const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  uniqueKeys: true,
  customTags: (tags) => tags.filter((t) => !DROPPED_YAML_TAGS.test(typeof t === 'string' ? t : `${t.tag}${t.format ?? ''}`)),
};
const TO_JS: ToJSOptions = { maxAliasCount: 100 };

function invalid(message: string): never {
  throw new DomainError('invalid-policy', message);
}

/** The media type of a Content-Type header, without parameters, lower-cased. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isYamlContentType(contentType: string | undefined): boolean {
  return YAML_MEDIA_TYPES.has(mediaType(contentType));
}

function checkSize(text: string): void {
  // A UTF-16 unit is at least one UTF-8 byte: the cheap test first, the exact count only when close.
  if (text.length > POLICY_BODY_LIMIT || new TextEncoder().encode(text).length > POLICY_BODY_LIMIT) {
    throw new DomainError('payload-too-large', `policy document is over ${POLICY_BODY_LIMIT} bytes`);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/:$/, '');
}

function yamlDocuments(text: string): Document[] {
  const docs = parseAllDocuments(text, YAML_OPTIONS);
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) if (doc.errors.length > 0) invalid(`malformed YAML: ${firstLine(doc.errors[0]!.message)}`);
  return list;
}

function documentValue(doc: Document): unknown {
  let value: unknown;
  try {
    value = doc.toJS(TO_JS);
  } catch (e) {
    return invalid(`malformed YAML: ${firstLine((e as Error).message)}`);
  }
  const problem = nestingProblem(value);
  if (problem) invalid(`malformed YAML: ${problem}`);
  return value;
}

/** Deeper than any policy the CRD schema allows: bounds the recursion of every later walk. */
const MAX_NESTING = 100;

/**
 * Why a parsed value cannot be walked: a cycle (an alias inside its own anchor, `a: &a [*a]`,
 * which go-yaml refuses) or nesting deeper than MAX_NESTING objects and arrays.
 */
function nestingProblem(value: unknown, ancestors = new Set<object>()): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (ancestors.has(value)) return 'an alias refers to a node that contains it';
  if (ancestors.size >= MAX_NESTING) return `nesting deeper than ${MAX_NESTING} levels`;
  ancestors.add(value);
  let problem: string | undefined;
  for (const child of Object.values(value)) if ((problem = nestingProblem(child, ancestors))) break;
  ancestors.delete(value);
  return problem;
}

/**
 * The one policy object of a PUT body: YAML when the content type says so (application/yaml and
 * its aliases), JSON otherwise. Malformed text is `invalid-policy`; over 1 MiB `payload-too-large`.
 */
export function parsePolicyBody(text: string, contentType: string | undefined): unknown {
  checkSize(text);
  if (!isYamlContentType(contentType)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return invalid(`malformed JSON: ${(e as Error).message} (send content-type: application/yaml for YAML)`);
    }
    const problem = nestingProblem(value);
    if (problem) invalid(`malformed JSON: ${problem}`);
    return value;
  }
  const values = yamlDocuments(text).map(documentValue).filter((v) => v !== null && v !== undefined);
  if (values.length !== 1) invalid(`expected one YAML document, found ${values.length}`);
  return values[0];
}

export interface PolicyFileDocument {
  kind: PolicyKind;
  /** metadata.namespace as written (a CNP without one goes to the caller's default namespace). */
  namespace: string | null;
  name: string;
  /** The object itself, to send as a policy PUT body. */
  document: Record<string, unknown>;
}

const POLICY_KINDS: readonly string[] = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'];
const LIST_KINDS: readonly string[] = ['List', 'CiliumNetworkPolicyList', 'CiliumClusterwideNetworkPolicyList'];

function describePolicyObject(value: unknown, where: string): PolicyFileDocument {
  if (!isObject(value)) invalid(`${where}: expected an object, not ${Array.isArray(value) ? 'a list' : typeof value}`);
  if (typeof value.kind !== 'string' || !POLICY_KINDS.includes(value.kind)) {
    invalid(`${where}: kind ${JSON.stringify(value.kind ?? null)} is not CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy`);
  }
  const meta = isObject(value.metadata) ? value.metadata : {};
  if (typeof meta.name !== 'string' || meta.name === '') invalid(`${where}: metadata.name: Required value`);
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : null;
  return { kind: value.kind as PolicyKind, namespace, name: meta.name, document: value };
}

/**
 * Splits an `idplane apply -f` file: YAML documents separated by `---` (JSON is YAML too), empty
 * documents skipped, `kind: List` (and the policy List kinds) replaced by their items, as kubectl
 * does. Each object must be a CNP or CCNP with a name; full validation is the server's.
 */
export function splitPolicyDocuments(text: string): PolicyFileDocument[] {
  const out: PolicyFileDocument[] = [];
  const add = (value: unknown, where: string): void => {
    if (isObject(value) && typeof value.kind === 'string' && LIST_KINDS.includes(value.kind)) {
      const items = Array.isArray(value.items) ? value.items : invalid(`${where}: items: Required value`);
      items.forEach((item, i) => add(item, `${where} items[${i}]`));
      return;
    }
    if (out.length >= MAX_APPLY_DOCUMENTS) invalid(`more than ${MAX_APPLY_DOCUMENTS} policies in one file`);
    out.push(describePolicyObject(value, where));
  };
  yamlDocuments(text).forEach((doc, i) => {
    const value = documentValue(doc);
    if (value !== null && value !== undefined) add(value, `document ${i + 1}`);
  });
  return out;
}
