/**
 * Strict readers for the SigV4 parts of a signed STS request: the `Authorization` header and
 * `x-amz-date`. We never verify the signature (STS does); we read what it claims so the server
 * can refuse a request signed for another region, service, time or deployment before calling STS.
 * Format: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */

export interface SigV4Authorization {
  accessKeyId: string;
  /** `yyyymmdd` of the credential scope. */
  date: string;
  region: string;
  service: string;
  /** Lower-case, sorted, unique names. */
  signedHeaders: string[];
  /** 64 lower-case hex digits. */
  signature: string;
  /** `<accessKeyId>/<date>/<region>/<service>/aws4_request`, as signed. */
  credential: string;
}

export type SigV4Result<T> = { ok: true; value: T } | { ok: false; detail: string };

const MAX_AUTHORIZATION_LENGTH = 2048;
const MAX_SIGNED_HEADERS = 32;
const SHAPE = /^AWS4-HMAC-SHA256 Credential=([^\s,]+), SignedHeaders=([^\s,]+), Signature=([^\s,]+)$/;
/** IAM documents access key ids as 16-128 word characters; moto's local ids are shorter. */
const ACCESS_KEY_ID = /^[A-Za-z0-9]{1,128}$/;
const SCOPE_PART = /^[a-z0-9-]{1,32}$/;
const HEADER_NAME = /^[a-z0-9-]{1,64}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const fail = (detail: string): { ok: false; detail: string } => ({ ok: false, detail });

/**
 * Parses `AWS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/<service>/aws4_request,
 * SignedHeaders=<a;b;c>, Signature=<hex>` exactly (one space after each comma, nothing else).
 */
export function parseSigV4Authorization(value: string): SigV4Result<SigV4Authorization> {
  if (value.length > MAX_AUTHORIZATION_LENGTH) return fail('Authorization is too long');
  const match = SHAPE.exec(value);
  if (!match) return fail('Authorization is not "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…"');
  const [, credential = '', signedHeaderList = '', signature = ''] = match;

  const parts = credential.split('/');
  const [accessKeyId = '', date = '', region = '', service = '', terminator] = parts;
  if (parts.length !== 5 || terminator !== 'aws4_request') return fail('Credential is not <key id>/<date>/<region>/<service>/aws4_request');
  if (!ACCESS_KEY_ID.test(accessKeyId)) return fail('Credential has a malformed access key id');
  if (!isCalendarDate(date)) return fail('Credential has a malformed date');
  if (!SCOPE_PART.test(region) || !SCOPE_PART.test(service)) return fail('Credential has a malformed region or service');

  const signedHeaders = signedHeaderList.split(';');
  if (signedHeaders.length > MAX_SIGNED_HEADERS) return fail('SignedHeaders lists too many headers');
  if (!signedHeaders.every((name) => HEADER_NAME.test(name))) return fail('SignedHeaders has a malformed header name');
  // SigV4 canonical form: sorted and unique. Anything else was not produced by a real signer.
  if (!signedHeaders.every((name, i) => i === 0 || (signedHeaders[i - 1] ?? '') < name)) return fail('SignedHeaders is not sorted and unique');

  if (!SIGNATURE.test(signature)) return fail('Signature is not 64 lower-case hex digits');
  return { ok: true, value: { accessKeyId, date, region, service, signedHeaders, signature, credential } };
}

/** Parses `x-amz-date` (`yyyymmddThhmmssZ`, UTC) into a Date, refusing impossible dates. */
export function parseAmzDate(value: string): SigV4Result<Date> {
  const match = AMZ_DATE.exec(value);
  if (!match) return fail('x-amz-date is not yyyymmddThhmmssZ');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const roundTrip = date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return roundTrip === value ? { ok: true, value: date } : fail('x-amz-date is not a real time');
}

/** `yyyymmdd` naming a day that exists. */
function isCalendarDate(value: string): boolean {
  return /^\d{8}$/.test(value) && parseAmzDate(`${value}T000000Z`).ok;
}
