/**
 * Builds the exchange request (docs/architecture.md#exchange): a SigV4-signed `sts:GetCallerIdentity` in the wire format
 * of Vault's and Consul's AWS IAM auth. The agent never sends it to STS itself; the server rebuilds
 * it from these signed parts and does.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AUDIENCE_HEADER } from '../../shared/core/exchange.js';
import type { AwsCredentials } from './credentials.js';

export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** The JSON body of `POST /v1/auth/exchange`. */
export interface ExchangeRequestBody {
  iam_http_request_method: 'POST';
  /** base64 of the STS URL. */
  iam_request_url: string;
  /** base64 of {@link GET_CALLER_IDENTITY_BODY}. */
  iam_request_body: string;
  /** base64 of a JSON object: lower-case header name → [value]. */
  iam_request_headers: string;
  taskArn: string;
  workloadGroup?: string;
  labels?: Record<string, string>;
}

export interface SignInput {
  credentials: AwsCredentials;
  region: string;
  stsUrl: string;
  /** The deployment's server ID: signed, so a signature made for one deployment is useless at another. */
  serverId: string;
  signingDate: Date;
  taskArn: string;
  workloadGroup?: string;
  labels?: Record<string, string>;
}

/** Signs GetCallerIdentity for `stsUrl` (audience header included) and encodes the exchange body. */
export async function buildExchangeRequest(input: SignInput): Promise<ExchangeRequestBody> {
  const headers = await signGetCallerIdentity(input);
  const encodedHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), [value]]));
  return {
    iam_http_request_method: 'POST',
    iam_request_url: base64(input.stsUrl),
    iam_request_body: base64(GET_CALLER_IDENTITY_BODY),
    iam_request_headers: base64(JSON.stringify(encodedHeaders)),
    taskArn: input.taskArn,
    ...(input.workloadGroup ? { workloadGroup: input.workloadGroup } : {}),
    ...(input.labels ? { labels: input.labels } : {}),
  };
}

/** The signed request's headers (host, content-type, audience, x-amz-date, session token, authorization). */
export async function signGetCallerIdentity(input: Pick<SignInput, 'credentials' | 'region' | 'stsUrl' | 'serverId' | 'signingDate'>): Promise<Record<string, string>> {
  const url = new URL(input.stsUrl);
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: '/',
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', [AUDIENCE_HEADER]: input.serverId },
    body: GET_CALLER_IDENTITY_BODY,
  });
  // applyChecksum off: STS needs no x-amz-content-sha256, and the server allows only the headers it expects.
  const signer = new SignatureV4({ service: 'sts', region: input.region, credentials: input.credentials, sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(request, { signingDate: input.signingDate });
  return { ...(signed.headers as Record<string, string>) };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
