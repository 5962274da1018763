/**
 * Decoding of the exchange request's wire format (Vault/Consul AWS IAM auth, docs/architecture.md#exchange): sizes
 * first, then strict JSON, strict base64, strict UTF-8, and the header map. Nothing here judges
 * what the STS request asks for; exchange-request.ts does.
 *
 * What Vault's own parser accepts from its stock clients is accepted too: `iam_request_headers`
 * as base64 of JSON or as the JSON object itself, base64 broken into lines (Go's decoder skips CR
 * and LF, and Python's `encodebytes` wraps at 76 columns), and a header value as a lone string.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import { EXCHANGE_REASONS } from './reasons.js';
import { exchangeRefusal, type ExchangeRefusal } from './exchange.js';
import type { ObjectRef } from './kubernetes-types.js';
import { LABEL_KEY, LABEL_VALUE, namespaceName, objectName } from './schemas.js';
import { parseJsonStrict } from './strict-json.js';
import { taskIdFromArn } from './task.js';

/** The request once decoded; header names lower-cased. */
export interface ExchangeWire {
  method: string;
  url: string;
  body: string;
  headers: ReadonlyMap<string, readonly string[]>;
  taskArn: string;
  taskId: string;
  requestedGroup?: ObjectRef;
  labels: Record<string, string>;
}

export type ExchangeWireResult = { ok: true; value: ExchangeWire } | ExchangeRefusal;

/** Bounds checked before anything is decoded (a bounded input bounds every later step). */
export const EXCHANGE_LIMITS = {
  rawBodyBytes: 16 * 1024,
  urlBase64: 1024,
  bodyBase64: 1024,
  headerJsonBytes: 8 * 1024,
  /** base64 of headerJsonBytes. */
  headersBase64: 4 * Math.ceil((8 * 1024) / 3),
  headerNames: 32,
  valuesPerHeader: 8,
  labels: 64,
} as const;

const TASK_ARN = /^arn:(aws|aws-cn|aws-us-gov):ecs:[a-z0-9-]{1,32}:\d{12}:task\/([A-Za-z0-9_-]{1,255}\/)?[A-Za-z0-9-]{1,64}$/;
/** RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Visible ASCII, space and tab: no CR/LF/NUL to split a header, nothing to re-encode. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/** Strict alphabet, length a multiple of 4, canonical padding (unused bits zero). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;

const RequestSchema = z.strictObject({
  iam_http_request_method: z.string().check(z.maxLength(16)),
  iam_request_url: z.string(),
  iam_request_body: z.string(),
  /** base64 of the header JSON, or the JSON object itself (both are Vault's `TypeHeader`). */
  iam_request_headers: z.union([z.string(), z.record(z.string(), z.unknown())]),
  taskArn: z.string().check(z.maxLength(512), z.regex(TASK_ARN, 'must be an ECS task ARN')),
  workloadGroup: z.optional(z.string().check(z.maxLength(320))),
  labels: z.optional(
    z
      .record(z.string().check(z.regex(LABEL_KEY, 'must be a Kubernetes label key')), z.string().check(z.regex(LABEL_VALUE, 'must be a Kubernetes label value')))
      .check(z.refine((labels) => Object.keys(labels).length <= EXCHANGE_LIMITS.labels, `at most ${EXCHANGE_LIMITS.labels} labels`)),
  ),
});

const malformed = (detail: string): ExchangeRefusal => exchangeRefusal(EXCHANGE_REASONS.MALFORMED_REQUEST, detail);
const tooLarge = (detail: string): ExchangeRefusal => exchangeRefusal(EXCHANGE_REASONS.REQUEST_TOO_LARGE, detail);

/** Decodes the raw request body; refuses anything oversized, unknown, repeated or not strictly encoded. */
export function decodeExchangeRequest(rawBody: string): ExchangeWireResult {
  // Bounded before parsing: no decoder ever sees a large input.
  if (rawBody.length > EXCHANGE_LIMITS.rawBodyBytes || utf8Length(rawBody) > EXCHANGE_LIMITS.rawBodyBytes) return tooLarge('the request body exceeds 16 KiB');
  const json = parseJsonStrict(rawBody);
  if (!json.ok) return malformed(`request body: ${json.detail}`);
  const parsed = RequestSchema.safeParse(json.value);
  if (!parsed.success) return malformed(describeIssue(parsed.error.issues[0]));
  const request = parsed.data;
  // zod's record drops a `__proto__` key without an issue; a key we would not keep is refused.
  if (Object.keys((json.value as { labels?: object }).labels ?? {}).length !== Object.keys(request.labels ?? {}).length) return malformed('labels: a key is not a Kubernetes label key');

  for (const [field, limit] of [['iam_request_url', EXCHANGE_LIMITS.urlBase64], ['iam_request_body', EXCHANGE_LIMITS.bodyBase64], ['iam_request_headers', EXCHANGE_LIMITS.headersBase64]] as const) {
    const value = request[field];
    if (typeof value === 'string' && value.length > limit) return tooLarge(`${field} exceeds ${limit} base64 characters`);
  }
  const url = decodeBase64Utf8(request.iam_request_url);
  const body = decodeBase64Utf8(request.iam_request_body);
  if (url === undefined) return malformed('iam_request_url is not strict base64 of UTF-8');
  if (body === undefined) return malformed('iam_request_body is not strict base64 of UTF-8');
  const headerMap = readHeaderMap((json.value as { iam_request_headers: unknown }).iam_request_headers);
  if (!headerMap.ok) return headerMap;
  const headers = readHeaders(headerMap.value);
  if (!headers.ok) return headers;

  let requestedGroup: ObjectRef | undefined;
  if (request.workloadGroup !== undefined) {
    requestedGroup = parseGroup(request.workloadGroup);
    if (!requestedGroup) return malformed('workloadGroup is not <namespace>/<name> with DNS-1123 parts');
  }
  const taskId = taskIdFromArn(request.taskArn);
  if (taskId === undefined) return malformed('taskArn: must be an ECS task ARN');
  return {
    ok: true,
    value: { method: request.iam_http_request_method, url, body, headers: headers.value, taskArn: request.taskArn, taskId, requestedGroup, labels: { ...request.labels } },
  };
}

/** The header map, from base64 of its JSON or (as the raw request JSON has it) the object itself; bounded. */
function readHeaderMap(raw: unknown): { ok: true; value: unknown } | ExchangeRefusal {
  if (typeof raw !== 'string') {
    // Measured as JSON text, as the base64 form's decoded bytes are.
    if (utf8Length(JSON.stringify(raw)) > EXCHANGE_LIMITS.headerJsonBytes) return tooLarge('iam_request_headers exceeds 8 KiB');
    return { ok: true, value: raw };
  }
  const text = decodeBase64Utf8(raw);
  if (text === undefined) return malformed('iam_request_headers is not strict base64 of UTF-8');
  if (utf8Length(text) > EXCHANGE_LIMITS.headerJsonBytes) return tooLarge('iam_request_headers exceeds 8 KiB decoded');
  const json = parseJsonStrict(text);
  if (!json.ok) return malformed(`iam_request_headers: ${json.detail}`);
  return { ok: true, value: json.value };
}

/** Header JSON as Vault writes it: name → [values] (a lone string is accepted as one value). */
function readHeaders(map: unknown): { ok: true; value: Map<string, string[]> } | ExchangeRefusal {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return malformed('iam_request_headers is not a JSON object');
  const entries = Object.entries(map);
  if (entries.length > EXCHANGE_LIMITS.headerNames) return tooLarge(`more than ${EXCHANGE_LIMITS.headerNames} headers`);
  const headers = new Map<string, string[]>(); // a Map: a header named __proto__ is just a name
  for (const [name, raw] of entries) {
    if (!HEADER_NAME.test(name)) return malformed('a header name is not an HTTP token');
    const lower = name.toLowerCase();
    // `Host` and `host` both given: which one counts would depend on the reader.
    if (headers.has(lower)) return malformed(`header ${lower} is given twice`);
    const values: unknown = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) return malformed(`header ${lower} is not a string or a non-empty list of strings`);
    if (values.length > EXCHANGE_LIMITS.valuesPerHeader) return tooLarge(`header ${lower} has more than ${EXCHANGE_LIMITS.valuesPerHeader} values`);
    if (!values.every((v: string) => HEADER_VALUE.test(v))) return malformed(`header ${lower} has a control or non-ASCII character`);
    headers.set(lower, values as string[]);
  }
  return { ok: true, value: headers };
}

/** `<namespace>/<name>`: a DNS-1123 label and a DNS-1123 subdomain. */
function parseGroup(value: string): ObjectRef | undefined {
  const parts = value.split('/');
  if (parts.length !== 2) return undefined;
  const [namespace = '', name = ''] = parts;
  return namespaceName.safeParse(namespace).success && objectName.safeParse(name).success ? { namespace, name } : undefined;
}

/**
 * Strict base64 (no URL alphabet, canonical padding) of valid UTF-8; BOM kept. Line breaks (CR,
 * LF) are skipped as Go's decoder skips them; any other whitespace is refused.
 */
function decodeBase64Utf8(value: string): string | undefined {
  const unwrapped = value.replace(/[\r\n]/g, '');
  if (!BASE64.test(unwrapped)) return undefined;
  const bytes = Uint8Array.from(atob(unwrapped), (c) => c.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** UTF-8 byte length without allocating (lone surrogates count as the 3-byte U+FFFD). */
function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** The first schema issue as `field: message`, bounded (no value is echoed by zod's messages). */
function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'the request is malformed';
  const path = issue.path.map(String).join('.') || 'request';
  return `${path}: ${issue.message}`.slice(0, 160);
}
