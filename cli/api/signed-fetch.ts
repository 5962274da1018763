/**
 * SigV4-signed HTTP for the operator API (API Gateway HTTP API with AWS_IAM authorization,
 * service `execute-api`). Credentials come from the standard AWS chain (env, profile, SSO,
 * container, instance) unless given.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { defaultProvider } from '@aws-sdk/credential-provider-node';

export interface AwsCredentialsLike {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialSource = AwsCredentialsLike | (() => Promise<AwsCredentialsLike>);

export interface SignedFetchOptions {
  region: string;
  /** Defaults to the standard credential chain (AWS_PROFILE honoured). */
  credentials?: CredentialSource;
  signingDate?: Date;
}

export interface SignedRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
}

/** The standard chain, memoized; `profile` overrides AWS_PROFILE. */
export function standardCredentials(profile?: string): () => Promise<AwsCredentialsLike> {
  return defaultProvider(profile ? { profile } : {});
}

/** Signs `request` for `url` and returns its headers (host, x-amz-date, authorization...). */
export async function signApiRequest(url: URL, request: SignedRequest, options: SignedFetchOptions): Promise<Record<string, string>> {
  // Repeated keys are all signed (SigV4 canonicalises every value).
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const seen = query[k];
    query[k] = seen === undefined ? v : [...(Array.isArray(seen) ? seen : [seen]), v];
  }
  const unsigned = new HttpRequest({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { host: url.host, ...lowerCaseKeys(request.headers ?? {}) },
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials ?? standardCredentials(),
    sha256: Sha256,
  });
  const signed = await signer.sign(unsigned, options.signingDate ? { signingDate: options.signingDate } : {});
  return { ...(signed.headers as Record<string, string>) };
}

/** `fetch` with a SigV4 signature over method, path, query, headers and body. */
export async function signedFetch(url: string | URL, request: SignedRequest, options: SignedFetchOptions): Promise<Response> {
  const target = new URL(url);
  const headers = await signApiRequest(target, request, options);
  // fetch sets Host itself from the URL (the same value that was signed).
  delete headers.host;
  return fetch(target, { method: request.method, headers, ...(request.body !== undefined ? { body: request.body } : {}) });
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
