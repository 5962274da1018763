/**
 * Validation of an auth-exchange request (docs/architecture.md#exchange), read top to bottom: decode, then small
 * named checks that return early, each saying which attack it stops. Prior art: Vault's
 * `builtin/credential/aws/path_login.go` and consul-awsauth's `token.go`. The signature itself is
 * verified by STS when the server sends the rebuilt request; what we check here is what STS
 * would not: that the signed request is a GetCallerIdentity for this deployment, to an endpoint we
 * chose, signed moments ago.
 */
import { AUDIENCE_HEADER, exchangeRefusal, VAULT_AUDIENCE_HEADER, type ExchangeRefusal, type ExchangeValidation, type ExchangeValidationOptions, type StsCall } from './exchange.js';
import { decodeExchangeRequest } from './exchange-wire.js';
import { EXCHANGE_REASONS } from './reasons.js';
import { parseAmzDate, parseSigV4Authorization, type SigV4Authorization } from './sigv4-header.js';
import { resolveStsEndpoint, type StsEndpoint } from './sts-endpoint.js';

type Headers = ReadonlyMap<string, readonly string[]>;

/** The only body we forward: these two parameters, once each, in either order. */
const REQUIRED_PARAMETERS: ReadonlyMap<string, string> = new Map([
  ['Action', 'GetCallerIdentity'],
  ['Version', '2011-06-15'],
]);

/**
 * The only headers a client may sign (and so the only ones we forward besides Authorization).
 * Framing and hop-by-hop headers (`transfer-encoding`, `connection`, `expect`, ...) are not here.
 */
export const FORWARDABLE_SIGNED_HEADERS: ReadonlySet<string> = new Set([
  'host', 'content-type', 'content-length', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256',
  'x-amz-user-agent', 'amz-sdk-invocation-id', 'amz-sdk-request', AUDIENCE_HEADER, VAULT_AUDIENCE_HEADER,
]);

const CONTENT_TYPES: ReadonlySet<string> = new Set(['application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded']);


/**
 * Validates a raw exchange request and rebuilds the STS call from its signed parts. `digest`
 * (a SHA-256 hex, supplied by the caller: the core does no crypto) turns the signature into the
 * replay key.
 */
export function validateExchangeRequest(rawBody: string, options: ExchangeValidationOptions, digest: (s: string) => string): ExchangeValidation {
  const wire = decodeExchangeRequest(rawBody);
  if (!wire.ok) return wire;
  const { method, url, body, headers } = wire.value;

  // Only the one read-only action: a GET or another method changes what STS is asked to do.
  if (method !== 'POST') return exchangeRefusal(EXCHANGE_REASONS.ACTION_NOT_ALLOWED, 'iam_http_request_method must be POST');
  const endpoint = resolveStsEndpoint(url, options.localStsEndpoint);
  if (!endpoint.ok) return endpoint;
  const bodyRefusal = checkGetCallerIdentityBody(body);
  if (bodyRefusal) return bodyRefusal;

  const authorization = readAuthorization(headers);
  if (!authorization.ok) return authorization;
  const auth = authorization.value;
  const signed = new Set(auth.signedHeaders);
  const region = endpoint.region ?? auth.region;
  const refusal =
    checkContentHeaders(headers, body) ??
    checkSignedHeaderNames(headers, signed) ??
    checkHost(headers, signed, endpoint) ??
    // A signature for another region's STS cannot be sent to this region's (nor be replayed there).
    (auth.region === region ? undefined : exchangeRefusal(EXCHANGE_REASONS.REGION_MISMATCH, `the credential scope's region ${auth.region} is not the endpoint's region ${region}`)) ??
    checkAudience(headers, signed, options.audience);
  if (refusal) return refusal;
  const signedAt = readSignedAt(headers, signed, auth, options);
  if (!signedAt.ok) return signedAt;

  const sts: StsCall = { url: endpoint.url, region, headers: rebuildHeaders(headers, auth, endpoint, body), body };
  const { taskArn, taskId, requestedGroup, labels } = wire.value;
  return {
    ok: true,
    value: { sts, taskArn, taskId, requestedGroup, labels, accessKeyId: auth.accessKeyId, signedAt: signedAt.value, replayKey: digest(`${auth.signature}/${auth.credential}`) },
  };
}

/**
 * Exactly `Action=GetCallerIdentity` and `Version=2011-06-15`, compared as sent (no percent
 * decoding, case-sensitive), so a signed AssumeRole, a second Action or an extra parameter that
 * STS would read differently than we do never reaches STS.
 */
export function checkGetCallerIdentityBody(body: string): ExchangeRefusal | undefined {
  const notAllowed = (detail: string) => exchangeRefusal(EXCHANGE_REASONS.ACTION_NOT_ALLOWED, detail);
  const seen = new Set<string>();
  for (const pair of body.split('&')) {
    if (pair === '') return notAllowed('the body has an empty parameter');
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const expected = REQUIRED_PARAMETERS.get(name);
    if (expected === undefined) return notAllowed('the body may hold only Action=GetCallerIdentity and Version=2011-06-15');
    if (seen.has(name)) return notAllowed(`the body gives ${name} twice`);
    if (eq < 0 || pair.slice(eq + 1) !== expected) return notAllowed(`${name} must be ${expected}`);
    seen.add(name);
  }
  const missing = [...REQUIRED_PARAMETERS.keys()].find((name) => !seen.has(name));
  return missing ? notAllowed(`the body lacks ${missing}`) : undefined;
}

/** The one Authorization header, read strictly; only a SigV4 signature for STS is accepted. */
function readAuthorization(headers: Headers): { ok: true; value: SigV4Authorization } | ExchangeRefusal {
  const malformed = (detail: string) => exchangeRefusal(EXCHANGE_REASONS.SIGNATURE_MALFORMED, detail);
  const values = headers.get('authorization');
  if (!values || values.length !== 1) return malformed('exactly one authorization header is required');
  const parsed = parseSigV4Authorization(values[0] ?? '');
  if (!parsed.ok) return malformed(parsed.detail);
  // A signature for another service (IAM, S3 presign) is no proof for STS.
  if (parsed.value.service !== 'sts') return malformed('the credential scope is not for the sts service');
  return parsed;
}

/** A body that says something other than its declared type or length is a smuggling attempt. */
function checkContentHeaders(headers: Headers, body: string): ExchangeRefusal | undefined {
  const type = headers.get('content-type');
  if (type && (type.length !== 1 || !CONTENT_TYPES.has(type[0] ?? ''))) return exchangeRefusal(EXCHANGE_REASONS.MALFORMED_REQUEST, 'content-type must be application/x-www-form-urlencoded');
  const length = headers.get('content-length');
  if (length && (length.length !== 1 || length[0] !== String(new TextEncoder().encode(body).length))) return exchangeRefusal(EXCHANGE_REASONS.MALFORMED_REQUEST, 'content-length is not the length of the body');
  return undefined;
}

/**
 * Every signed header must be forwardable and present (else STS would see a different request
 * than was signed); a session token must be signed, since unsigned headers are dropped.
 */
function checkSignedHeaderNames(headers: Headers, signed: ReadonlySet<string>): ExchangeRefusal | undefined {
  const malformed = (detail: string) => exchangeRefusal(EXCHANGE_REASONS.SIGNATURE_MALFORMED, detail);
  for (const name of signed) {
    if (!FORWARDABLE_SIGNED_HEADERS.has(name)) return malformed(`signed header ${name} is not one we forward`);
    // Go clients (Vault's, Consul's) keep Host and Content-Length out of the header map: both are
    // facts of the request we rebuild (the endpoint's host, the body's length).
    if (name !== 'host' && name !== 'content-length' && !headers.has(name)) return malformed(`signed header ${name} is missing`);
  }
  if (headers.has('x-amz-security-token') && !signed.has('x-amz-security-token')) return malformed('x-amz-security-token is not signed');
  return undefined;
}

/**
 * The signed Host must be the endpoint's: a signature for `sts.evil.com` sent to a real STS URL
 * (or the reverse) is a request we did not validate. Vault/Consul clients omit Host from the
 * header map (Go keeps it apart); then it is the URL's host, which STS checks against the signature.
 */
function checkHost(headers: Headers, signed: ReadonlySet<string>, endpoint: StsEndpoint): ExchangeRefusal | undefined {
  if (!signed.has('host')) return exchangeRefusal(EXCHANGE_REASONS.SIGNATURE_MALFORMED, 'host is not among the signed headers');
  const host = headers.get('host');
  if (host && (host.length !== 1 || host[0] !== endpoint.host)) return exchangeRefusal(EXCHANGE_REASONS.STS_ENDPOINT_NOT_ALLOWED, 'the host header is not the STS URL host');
  return undefined;
}

/**
 * The signed audience header binds the signature to this deployment: without it a signature the
 * agent made for another service that checks STS identities could be replayed here (and ours there).
 */
function checkAudience(headers: Headers, signed: ReadonlySet<string>, audience: string): ExchangeRefusal | undefined {
  const given = [AUDIENCE_HEADER, VAULT_AUDIENCE_HEADER].filter((name) => headers.has(name));
  // Two server ids (two headers, or two values) would leave the choice to whoever reads them.
  if (given.length > 1) return exchangeRefusal(EXCHANGE_REASONS.AUDIENCE, `both ${AUDIENCE_HEADER} and ${VAULT_AUDIENCE_HEADER} are given`);
  const name = given[0];
  if (!name) return exchangeRefusal(EXCHANGE_REASONS.AUDIENCE, `${AUDIENCE_HEADER} (or ${VAULT_AUDIENCE_HEADER}) is missing`);
  const values = headers.get(name) ?? [];
  if (!signed.has(name)) return exchangeRefusal(EXCHANGE_REASONS.AUDIENCE, `${name} is not signed`);
  if (values.length !== 1) return exchangeRefusal(EXCHANGE_REASONS.AUDIENCE, `${name} has more than one value`);
  if (values[0] !== audience) return exchangeRefusal(EXCHANGE_REASONS.AUDIENCE, `${name} names another deployment`);
  return undefined;
}

/**
 * The signing time, bounded on both sides: an old signature may have leaked (logs, a proxy), and a
 * future-dated one would stay usable long after it was made (STS itself allows 15 minutes).
 */
function readSignedAt(headers: Headers, signed: ReadonlySet<string>, auth: SigV4Authorization, options: ExchangeValidationOptions): { ok: true; value: Date } | ExchangeRefusal {
  const malformed = (detail: string) => exchangeRefusal(EXCHANGE_REASONS.SIGNATURE_MALFORMED, detail);
  const values = headers.get('x-amz-date');
  if (!values || values.length !== 1 || !signed.has('x-amz-date')) return malformed('exactly one signed x-amz-date header is required');
  const date = parseAmzDate(values[0] ?? '');
  if (!date.ok) return malformed(date.detail);
  if (!(values[0] ?? '').startsWith(auth.date)) return malformed("x-amz-date is not on the credential scope's date");
  const ageMs = options.now.getTime() - date.value.getTime();
  if (ageMs > options.maxAgeSeconds * 1000) return exchangeRefusal(EXCHANGE_REASONS.EXPIRED, `signed ${Math.floor(ageMs / 1000)} s ago; at most ${options.maxAgeSeconds} s allowed`);
  if (-ageMs > options.maxSkewSeconds * 1000) return exchangeRefusal(EXCHANGE_REASONS.FUTURE_DATED, `signed ${Math.ceil(-ageMs / 1000)} s ahead; at most ${options.maxSkewSeconds} s allowed`);
  return date;
}

/**
 * Only what the client signed, plus Authorization which carries the signature: an unsigned header
 * (hop-by-hop, `Accept`, an override) could change how STS or a proxy treats the request.
 */
function rebuildHeaders(headers: Headers, auth: SigV4Authorization, endpoint: StsEndpoint, body: string): Record<string, string> {
  const rebuilt: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    // SigV4 signs repeated values joined by ","; send them as that one value.
    if (name === 'host') rebuilt[name] = endpoint.host;
    else if (name === 'content-length' && !headers.has(name)) rebuilt[name] = String(new TextEncoder().encode(body).length);
    else rebuilt[name] = (headers.get(name) ?? []).join(',');
  }
  rebuilt.authorization = headers.get('authorization')?.[0] ?? '';
  return rebuilt;
}
