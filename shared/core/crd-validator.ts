/**
 * Validates Kubernetes custom resources the way the API server does for a CRD (docs/architecture.md#workload-entry):
 * the structural OpenAPI schema (an ajv validate function, given), every `x-kubernetes-validations`
 * CEL rule, unknown fields (as with `fieldValidation=Strict`), and the object's own apiVersion, kind
 * and metadata. The structural validator is either compiled at runtime (crd-schema-compiler.ts) or
 * generated ahead of time (crd-validation.ts, for the Istio kinds the Lambdas write).
 */
import type { ErrorObject } from 'ajv';
import { parse } from '@marcbachmann/cel-js';

/** The outcome of validating one object. */
export type CrdValidationResult = { ok: true } | { ok: false; problems: string[] };

/** Checks one object against a CRD; never throws. */
export type CrdValidator = (obj: unknown) => CrdValidationResult;

/** What the object must say about itself (`apiVersion`, `kind`); omitted → any non-empty string. */
export interface CrdIdentity {
  apiVersion: string;
  kind: string;
}

/** An ajv validate function, compiled at runtime or generated: true, or false with `errors`. */
export interface StructuralValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

type Schema = { [keyword: string]: unknown };
type CelRule = { rule: string; message: string; run: (ctx: { self: unknown }) => unknown };

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** A validator from a CRD version's `openAPIV3Schema` and its structural (ajv) validator. */
export function crdValidator(openApiV3Schema: object, structural: StructuralValidator, identity?: CrdIdentity): CrdValidator {
  const schema = openApiV3Schema as Schema;
  const rules = new Map<Schema, CelRule[]>();
  return (obj) => {
    if (!isObject(obj)) return { ok: false, problems: ['(root): must be an object'] };
    const problems = [...checkObjectMeta(obj, identity), ...checkStructure(structural, obj)];
    walk(schema, obj, '', problems, rules, true);
    return problems.length === 0 ? { ok: true } : { ok: false, problems };
  };
}

function checkObjectMeta(obj: Record<string, unknown>, identity: CrdIdentity | undefined): string[] {
  const problems: string[] = [];
  const expect = (field: 'apiVersion' | 'kind') => {
    const value = obj[field];
    if (typeof value !== 'string' || value === '') problems.push(`${field}: required`);
    else if (identity && value !== identity[field]) problems.push(`${field}: must be ${identity[field]}`);
  };
  expect('apiVersion');
  expect('kind');
  const meta = obj.metadata;
  if (!isObject(meta)) return [...problems, 'metadata: required'];
  const { name, namespace } = meta;
  if (typeof name !== 'string' || name === '') problems.push('metadata.name: required');
  else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))
    problems.push('metadata.name: must be a lowercase RFC 1123 subdomain of at most 253 characters');
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace.length > 63 || !DNS1123_LABEL.test(namespace)))
    problems.push('metadata.namespace: must be a lowercase RFC 1123 label of at most 63 characters');
  problems.push(...checkStringMap(meta.labels, 'metadata.labels', true), ...checkStringMap(meta.annotations, 'metadata.annotations', false));
  return problems;
}

function checkStringMap(value: unknown, path: string, asLabels: boolean): string[] {
  if (value === undefined) return [];
  if (!isObject(value)) return [`${path}: must be an object`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') problems.push(`${path}.${key}: must be a string`);
    else if (asLabels && v !== '' && (v.length > 63 || !LABEL_NAME.test(v))) problems.push(`${path}.${key}: invalid label value`);
    if (!isQualifiedName(key)) problems.push(`${path}.${key}: invalid key`);
  }
  return problems;
}

function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}

function checkStructure(validate: StructuralValidator, obj: unknown): string[] {
  if (validate(obj)) return [];
  return (validate.errors ?? []).map(describeAjvError);
}

function describeAjvError(error: ErrorObject): string {
  const path = error.instancePath.split('/').slice(1).map(unescapePointer);
  if (error.keyword === 'required') return `${formatPath([...path, String(error.params.missingProperty)])}: required`;
  return `${formatPath(path)}: ${error.message ?? error.keyword}`;
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function formatPath(segments: string[]): string {
  return segments.length === 0 ? '(root)' : segments.join('.');
}

/** Walks the schema alongside the value: CEL rules where the value has the declared type, unknown fields. */
function walk(schema: Schema, value: unknown, path: string, problems: string[], rules: Map<Schema, CelRule[]>, root = false): void {
  if (!hasDeclaredType(schema, value)) return;
  for (const rule of celRules(schema, rules)) {
    if (!passes(rule, value)) problems.push(`${path || '(root)'}: ${rule.message}`);
  }
  const child = (key: string | number) => (path ? `${path}.${key}` : String(key));
  if (Array.isArray(value)) {
    if (isObject(schema.items)) value.forEach((item, i) => walk(schema.items as Schema, item, child(i), problems, rules));
    return;
  }
  if (!isObject(value)) return;
  const properties = isObject(schema.properties) ? (schema.properties as Record<string, Schema>) : undefined;
  const additional = isObject(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined;
  const preserveUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties === true;
  for (const [key, fieldValue] of Object.entries(value)) {
    const fieldSchema = properties && Object.hasOwn(properties, key) ? properties[key] : additional;
    if (fieldSchema) walk(fieldSchema, fieldValue, child(key), problems, rules);
    else if (!preserveUnknown && !(root && ROOT_FIELDS.has(key))) problems.push(`${child(key)}: unknown field`);
  }
}

function celRules(schema: Schema, cache: Map<Schema, CelRule[]>): CelRule[] {
  const cached = cache.get(schema);
  if (cached) return cached;
  const declared = Array.isArray(schema['x-kubernetes-validations']) ? (schema['x-kubernetes-validations'] as unknown[]) : [];
  const compiled = declared.filter(isObject).map((v) => {
    const rule = String(v.rule);
    return { rule, message: typeof v.message === 'string' ? v.message : `failed rule: ${rule}`, run: compileRule(rule) };
  });
  cache.set(schema, compiled);
  return compiled;
}

/** A rule the CEL library cannot parse fails every time rather than making the validator throw. */
function compileRule(rule: string): CelRule['run'] {
  try {
    return parse(rule);
  } catch (error) {
    return () => {
      throw error;
    };
  }
}

function passes(rule: CelRule, value: unknown): boolean {
  try {
    return rule.run({ self: toCel(value) }) === true;
  } catch {
    // The API server reports a rule that cannot be evaluated as a validation failure.
    return false;
  }
}

/** CEL integers are BigInt in cel-js; JSON integers are `int` in Kubernetes CEL. */
function toCel(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCel);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value;
}

function hasDeclaredType(schema: Schema, value: unknown): boolean {
  switch (schema.type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return value !== undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
