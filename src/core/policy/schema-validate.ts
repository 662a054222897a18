// kube-apiserver's two checks of a custom resource against its CRD schema, reporting the first
// problem in its words: strict decoding (fields the schema does not declare), then OpenAPI
// validation (kube-openapi's validators, converted to field errors as apiextensions-apiserver does).
import type { SchemaNode } from './crd-schema.js';
import { isGoCidr } from './go-parse.js';
import { parseIp } from '../ip.js';
import { goQuote, invalidValue, requiredValue, tooLong, tooMany, unsupportedValue } from './k8s-field-errors.js';

export type JsonObject = { [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Drops object fields whose value is null, as kube-apiserver prunes non-nullable nulls before
 * validating: `spec: null` is no spec. Copies with Object.fromEntries (own keys, never prototypes).
 */
export function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (!isObject(v)) return v;
  return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null ? [] : [[k, pruneNulls(x)]])));
}

/** The schema of an object's field: a declared property, or any key of a map; undefined if unknown. */
function fieldSchema(schema: SchemaNode, key: string): SchemaNode | undefined {
  if (schema.properties) return Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
  return schema.additionalProperties;
}

/** The first field the schema does not declare (kube's strict decoding), as `path: unknown field "path"`. */
export function findUnknownField(value: unknown, schema: SchemaNode, path: string): string | undefined {
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnknownField(value[i], schema.items, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (!isObject(value)) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const p = childPath(path, key);
    const sub = fieldSchema(schema, key);
    if (!sub) return `${p}: unknown field ${goQuote(p)}`;
    const found = findUnknownField(child, sub, p);
    if (found) return found;
  }
  return undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

function hasType(v: unknown, type: SchemaNode['type']): boolean {
  const actual = typeName(v);
  if (type === 'int-or-string') return actual === 'integer' || actual === 'string';
  return actual === type;
}

function composite(value: JsonObject, schema: SchemaNode, path: string): string | undefined {
  if (schema.anyOfRequired && !schema.anyOfRequired.some((k) => Object.hasOwn(value, k))) {
    return `${path}: ${schema.anyOfMessage ?? `${goQuote(path)} must validate at least one schema (anyOf)`}`;
  }
  if (schema.oneOfRequired) {
    const valid = schema.oneOfRequired.filter((k) => Object.hasOwn(value, k)).length;
    if (valid === 0) {
      return `${path}: ${schema.oneOfMessages?.none ?? `${goQuote(path)} must validate one and only one schema (oneOf). Found none valid`}`;
    }
    if (valid > 1) {
      return `${path}: ${schema.oneOfMessages?.many ?? `${goQuote(path)} must validate one and only one schema (oneOf). Found ${valid} valid alternatives`}`;
    }
  }
  return undefined;
}

function validateString(value: string, schema: SchemaNode, path: string): string | undefined {
  const runes = [...value].length;
  if (schema.maxLength !== undefined && runes > schema.maxLength) return tooLong(path, schema.maxLength);
  if (schema.minLength !== undefined && runes < schema.minLength) {
    return invalidValue(path, value, `${path} in body should be at least ${schema.minLength} chars long`);
  }
  if (schema.pattern && !schema.pattern.test(value)) {
    return invalidValue(path, value, `${path} in body should match '${schema.pattern.source}'`);
  }
  const bareIp = schema.format === 'cidr-or-ip' && !value.includes('/') && parseIp(value) !== undefined;
  if (schema.format !== undefined && !bareIp && !isGoCidr(value)) {
    return invalidValue(path, value, `${path} in body must be of type cidr: ${goQuote(value)}`);
  }
  return undefined;
}

function validateArray(value: unknown[], schema: SchemaNode, path: string): string | undefined {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) return tooMany(path, value.length, schema.maxItems);
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    return invalidValue(path, value.length, `${path} in body should have at least ${schema.minItems} items`);
  }
  for (let i = 0; i < value.length; i++) {
    const found = validateAgainstSchema(value[i], schema.items!, `${path}[${i}]`);
    if (found) return found;
    if (schema.listSet && value.indexOf(value[i]) < i) return `${path}[${i}]: Duplicate value: ${goQuote(String(value[i]))}`;
  }
  return undefined;
}

function validateObject(value: JsonObject, schema: SchemaNode, path: string): string | undefined {
  const found = composite(value, schema, path);
  if (found) return found;
  for (const key of schema.required ?? []) if (!Object.hasOwn(value, key)) return requiredValue(childPath(path, key));
  for (const [key, child] of Object.entries(value)) {
    const sub = fieldSchema(schema, key);
    const err = sub && validateAgainstSchema(child, sub, childPath(path, key));
    if (err) return err;
  }
  return undefined;
}

/** The first OpenAPI validation error of `value` (nulls already pruned), as a kube field error. */
export function validateAgainstSchema(value: unknown, schema: SchemaNode, path: string): string | undefined {
  if (!hasType(value, schema.type)) {
    const actual = typeName(value);
    const expected = schema.type === 'int-or-string' ? 'integer,string' : schema.type;
    return invalidValue(path, actual, `${path} in body must be of type ${expected}: ${goQuote(actual)}`);
  }
  if (typeof value === 'string') {
    const found = validateString(value, schema, path);
    if (found) return found;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) {
      return invalidValue(path, value, `${path} in body should be greater than or equal to ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      return invalidValue(path, value, `${path} in body should be less than or equal to ${schema.maximum}`);
    }
  }
  if (schema.enum && !schema.enum.includes(value as string)) return unsupportedValue(path, value, schema.enum);
  if (Array.isArray(value)) return validateArray(value, schema, path);
  if (isObject(value)) return validateObject(value, schema, path);
  return undefined;
}
