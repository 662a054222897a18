// Policy text: PUT bodies (YAML or JSON, 1 MiB) and `idplane apply -f` files.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../../src/core/errors.js';
import { POLICY_BODY_LIMIT, isYamlContentType, parsePolicyBody, splitPolicyDocuments } from '../../../../src/core/policy/parse.js';

function failure(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('no error');
}

describe('parsePolicyBody', () => {
  it.each([
    { contentType: 'application/yaml', yaml: true },
    { contentType: 'application/x-yaml', yaml: true },
    { contentType: 'text/yaml; charset=utf-8', yaml: true },
    { contentType: 'Application/YAML', yaml: true },
    { contentType: 'application/apply-patch+yaml', yaml: true },
    { contentType: 'application/json', yaml: false },
    { contentType: undefined, yaml: false },
  ])('$contentType is YAML: $yaml', ({ contentType, yaml }) => {
    expect(isYamlContentType(contentType)).toBe(yaml);
  });

  it('reads YAML 1.1 scalars as kubectl does: yes/on are booleans, 010 octal, timestamps stay strings', () => {
    expect(parsePolicyBody('a: yes\nb: on\nc: "80"\nd: 010\ne: 2026-01-01\nf: ~\n', 'application/yaml')).toEqual({
      a: true,
      b: true,
      c: '80',
      d: 8,
      e: '2026-01-01',
      f: null,
    });
  });

  it('reads JSON bodies', () => {
    expect(parsePolicyBody('{"kind":"CiliumNetworkPolicy","spec":{"ingress":[]}}', 'application/json')).toEqual({
      kind: 'CiliumNetworkPolicy',
      spec: { ingress: [] },
    });
  });

  it('takes 100 levels of nesting, and a shared (not cyclic) alias', () => {
    expect(parsePolicyBody(`${'['.repeat(100)}${']'.repeat(100)}`, 'application/json')).toBeInstanceOf(Array);
    expect(parsePolicyBody('a: &a {k: v}\nb: [*a, *a]\n', 'application/yaml')).toEqual({ a: { k: 'v' }, b: [{ k: 'v' }, { k: 'v' }] });
  });

  it('skips empty YAML documents around the one object', () => {
    expect(parsePolicyBody('---\nkind: X\n---\n', 'application/yaml')).toEqual({ kind: 'X' });
  });

  it.each([
    { name: 'broken flow sequence', text: 'a: [1, 2\nb: c', type: 'application/yaml', message: /^malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a \] at line 2, column 1$/ },
    { name: 'duplicate key', text: 'a: 1\na: 2\n', type: 'application/yaml', message: /^malformed YAML: Map keys must be unique at line 2, column 1$/ },
    { name: 'two documents', text: 'a: 1\n---\nb: 2\n', type: 'application/yaml', message: /^expected one YAML document, found 2$/ },
    { name: 'no document', text: '', type: 'application/yaml', message: /^expected one YAML document, found 0$/ },
    { name: 'alias bomb', text: `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [${'*' + (i === 0 ? 'a' : `b${i - 1}`)}, ${'*' + (i === 0 ? 'a' : `b${i - 1}`)}]`).join('\n')}\nc: [${Array.from({ length: 120 }, () => '*b11').join(', ')}]\n`, type: 'application/yaml', message: /^malformed YAML: Excessive alias count/ },
    { name: 'alias inside its own anchor', text: 'a: &a [*a]\n', type: 'application/yaml', message: /^malformed YAML: an alias refers to a node that contains it$/ },
    { name: 'map alias inside its own anchor', text: 'a: &a {b: [1, *a]}\n', type: 'application/yaml', message: /^malformed YAML: an alias refers to a node that contains it$/ },
    { name: 'YAML nested 101 levels', text: `${'['.repeat(101)}${']'.repeat(101)}`, type: 'application/yaml', message: /^malformed YAML: nesting deeper than 100 levels$/ },
    { name: 'JSON nested 101 levels', text: `${'{"a":'.repeat(101)}1${'}'.repeat(101)}`, type: 'application/json', message: /^malformed JSON: nesting deeper than 100 levels$/ },
    { name: 'JSON trailing comma', text: '{"a": 1,}', type: 'application/json', message: /^malformed JSON: .* \(send content-type: application\/yaml for YAML\)$/ },
    { name: 'YAML sent as JSON', text: 'kind: CiliumNetworkPolicy', type: undefined, message: /^malformed JSON: / },
  ])('$name → invalid-policy', ({ text, type, message }) => {
    const err = failure(() => parsePolicyBody(text, type));
    expect(err.code).toBe('invalid-policy');
    expect(err.message).toMatch(message);
  });

  it('accepts exactly 1 MiB and refuses one byte more, counting UTF-8 bytes', () => {
    const padded = (n: number) => `{"a":"${'x'.repeat(n - 8)}"}`;
    expect(padded(POLICY_BODY_LIMIT)).toHaveLength(POLICY_BODY_LIMIT);
    expect(parsePolicyBody(padded(POLICY_BODY_LIMIT), 'application/json')).toEqual({ a: 'x'.repeat(POLICY_BODY_LIMIT - 8) });
    expect(failure(() => parsePolicyBody(padded(POLICY_BODY_LIMIT + 1), 'application/json'))).toEqual({
      code: 'payload-too-large',
      message: `policy document is over ${POLICY_BODY_LIMIT} bytes`,
    });
    const multiByte = `{"a":"${'é'.repeat(POLICY_BODY_LIMIT / 2)}"}`;
    expect(multiByte.length).toBeLessThan(POLICY_BODY_LIMIT);
    expect(failure(() => parsePolicyBody(multiByte, 'application/json')).code).toBe('payload-too-large');
  });
});

describe('splitPolicyDocuments (idplane apply -f)', () => {
  const cnpYaml = (name: string, ns?: string) =>
    `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}spec: {}\n`;

  it('splits CNPs and CCNPs, skips empty documents, keeps each object whole', () => {
    const text = `---\n${cnpYaml('a', 'team-a')}---\n---\n${cnpYaml('b')}---\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c, namespace: ""}\nspecs: []\n---\n`;
    expect(splitPolicyDocuments(text)).toEqual([
      {
        kind: 'CiliumNetworkPolicy',
        namespace: 'team-a',
        name: 'a',
        document: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'a', namespace: 'team-a' }, spec: {} },
      },
      {
        kind: 'CiliumNetworkPolicy',
        namespace: null,
        name: 'b',
        document: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'b' }, spec: {} },
      },
      {
        kind: 'CiliumClusterwideNetworkPolicy',
        namespace: null,
        name: 'c',
        document: { kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'c', namespace: '' }, specs: [] },
      },
    ]);
  });

  it('flattens Lists as `kubectl get -o yaml` writes them, and reads JSON files', () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { kind: 'CiliumNetworkPolicy', metadata: { name: 'x', namespace: 'n' } },
        { kind: 'CiliumClusterwideNetworkPolicyList', items: [{ kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'y' } }] },
      ],
    });
    expect(splitPolicyDocuments(list).map(({ kind, namespace, name }) => ({ kind, namespace, name }))).toEqual([
      { kind: 'CiliumNetworkPolicy', namespace: 'n', name: 'x' },
      { kind: 'CiliumClusterwideNetworkPolicy', namespace: null, name: 'y' },
    ]);
  });

  it('returns nothing for an empty file', () => {
    expect(splitPolicyDocuments('')).toEqual([]);
    expect(splitPolicyDocuments('---\n# only a comment\n')).toEqual([]);
  });

  it.each([
    { name: 'another kind', text: 'kind: NetworkPolicy\nmetadata: {name: a}\n', message: 'document 1: kind "NetworkPolicy" is not CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy' },
    { name: 'no kind', text: `${cnpYaml('a')}---\nmetadata: {name: b}\n`, message: 'document 2: kind null is not CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy' },
    { name: 'no name', text: 'kind: CiliumNetworkPolicy\nspec: {}\n', message: 'document 1: metadata.name: Required value' },
    { name: 'a list item without a name', text: 'kind: List\nitems:\n- kind: CiliumNetworkPolicy\n', message: 'document 1 items[0]: metadata.name: Required value' },
    { name: 'a List without items', text: 'kind: List\n', message: 'document 1: items: Required value' },
    { name: 'a scalar document', text: 'just text\n', message: 'document 1: expected an object, not string' },
    { name: 'malformed YAML, lines counted over the whole file', text: `${cnpYaml('a')}---\nkind: [\n`, message: 'malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 8, column 1' },
  ])('$name → invalid-policy', ({ text, message }) => {
    expect(failure(() => splitPolicyDocuments(text))).toEqual({ code: 'invalid-policy', message });
  });
});
