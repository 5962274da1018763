/**
 * What API Gateway's AWS_IAM authorization does for the operator routes, for `npm run local`:
 * recompute the caller's SigV4 signature (service `execute-api`, the stack's region) and, if it
 * matches, describe the caller as API Gateway does in `requestContext.authorizer.iam`. Locally
 * there is one caller, the operator holding the local AWS credentials; any other key is unknown.
 * Those are long-term keys: a session token sent with them is one no STS issued for them.
 * Format: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseAmzDate, parseSigV4Authorization } from '../shared/core/sigv4-header.js';
import { LOCAL_AWS_ENV } from './moto.js';

/** The only identity the local API knows: the local AWS credentials (testing/testing). */
export const LOCAL_OPERATOR = {
  accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID,
  secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY,
  userArn: 'arn:aws:iam::123456789012:user/local-operator',
  accountId: '123456789012',
  userId: 'AIDALOCALOPERATOR',
} as const;

/** `event.requestContext.authorizer.iam` as API Gateway fills it for an IAM user. */
export interface IamCaller {
  accessKey: string;
  accountId: string;
  callerId: string;
  cognitoIdentity: null;
  principalOrgId: null;
  userArn: string;
  userId: string;
}

/** The request as it arrived: `path` and `rawQueryString` still percent-encoded. */
export interface IncomingSignedRequest {
  method: string;
  path: string;
  rawQueryString: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body?: string;
}

/** `message`: the body API Gateway answers with when it says why (default `Forbidden`); `reason` is for the log. */
export type IamAuthorization = { ok: true; iam: IamCaller } | { ok: false; reason: string; message?: string };

const SERVICE = 'execute-api';
/** The region the local API is "deployed" in: a signature scoped to another is refused, as API Gateway refuses it. */
const REGION = LOCAL_AWS_ENV.AWS_REGION;
/** API Gateway refuses a signature dated more than 5 minutes from its clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const refuse = (reason: string, message?: string): { ok: false; reason: string; message?: string } => ({ ok: false, reason, ...(message ? { message } : {}) });

/** Verifies `request`'s SigV4 signature against the local operator's credentials. */
export async function verifyIamRequest(request: IncomingSignedRequest, now: Date = new Date()): Promise<IamAuthorization> {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return refuse('no Authorization header');
  const parsed = parseSigV4Authorization(authorization);
  if (!parsed.ok) return refuse(parsed.detail);
  const { accessKeyId, date, region, service, signedHeaders, signature } = parsed.value;
  if (accessKeyId !== LOCAL_OPERATOR.accessKeyId) return refuse(`unknown access key ${accessKeyId}`);
  if (service !== SERVICE) return refuse(`signed for service ${service}, not ${SERVICE}`);
  if (region !== REGION) return refuse(`signed for region ${region}, not ${REGION}`, `Credential should be scoped to a valid region, not '${region}'. `);
  // The operator's keys are long-term: any session token with them is one STS never issued for them.
  if (request.headers['x-amz-security-token'] !== undefined) return refuse('a session token the local STS did not issue', 'The security token included in the request is invalid.');

  // The signer takes its date from x-amz-date, so that header must exist and be signed.
  if (!signedHeaders.includes('host')) return refuse('host is not a signed header');
  if (!signedHeaders.includes('x-amz-date')) return refuse('x-amz-date is not a signed header');
  const missing = signedHeaders.find((name) => !Object.hasOwn(request.headers, name) || request.headers[name] === undefined);
  if (missing) return refuse(`signed header ${missing} is missing`);
  const signingDate = parseAmzDate(request.headers['x-amz-date'] ?? '');
  if (!signingDate.ok) return refuse(signingDate.detail);
  if (!(request.headers['x-amz-date'] ?? '').startsWith(date)) return refuse('x-amz-date is not on the credential scope date');
  if (Math.abs(now.getTime() - signingDate.value.getTime()) > MAX_CLOCK_SKEW_MS) return refuse('signature is dated more than 5 minutes from now');

  // The signer trusts x-amz-content-sha256 as the payload hash, so it must be the body's.
  const contentSha256 = request.headers['x-amz-content-sha256'];
  if (contentSha256 !== undefined && contentSha256 !== createHash('sha256').update(request.body ?? '').digest('hex')) {
    return refuse('x-amz-content-sha256 does not match the body');
  }

  const expected = Buffer.from(await sign(request, signedHeaders, region, signingDate.value));
  const claimed = Buffer.from(signature);
  if (expected.length !== claimed.length || !timingSafeEqual(expected, claimed)) return refuse('signature does not match');
  return {
    ok: true,
    iam: {
      accessKey: LOCAL_OPERATOR.accessKeyId,
      accountId: LOCAL_OPERATOR.accountId,
      callerId: LOCAL_OPERATOR.userId,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: LOCAL_OPERATOR.userArn,
      userId: LOCAL_OPERATOR.userId,
    },
  };
}

/** The signature the operator's credentials give the request, over exactly the headers it signed. */
async function sign(request: IncomingSignedRequest, signedHeaders: string[], region: string, signingDate: Date): Promise<string> {
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, request.headers[name] ?? '']));
  const unsigned = new HttpRequest({
    method: request.method,
    path: request.path,
    query: decodeQuery(request.rawQueryString),
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  // applyChecksum off: the signer must not add x-amz-content-sha256 when the caller did not sign it.
  const signer = new SignatureV4({ service: SERVICE, region, credentials: LOCAL_OPERATOR, sha256: Sha256, applyChecksum: false });
  // signableHeaders: sign what the caller signed, even headers the signer skips by default (user-agent).
  const signed = await signer.sign(unsigned, { signingDate, signableHeaders: new Set(signedHeaders) });
  const computed = parseSigV4Authorization(String(signed.headers.authorization));
  return computed.ok ? computed.value.signature : '';
}

/** Decoded names and values, as the signer expects (it encodes them again); repeated names as arrays. */
function decodeQuery(raw: string): Record<string, string | string[]> {
  // No prototype: a parameter named __proto__ is data.
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(raw)) {
    const seen = query[key];
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
}
