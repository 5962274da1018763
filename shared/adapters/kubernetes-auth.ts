/**
 * Bearer tokens for the mesh's Kubernetes API (docs/architecture.md#mesh-api): an EKS IAM token minted from our
 * own credentials, or a static token kept in Secrets Manager. Token values never appear in errors.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { GetSecretValueCommand, type GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { regionalStsHost } from '../core/sts-endpoint.js';
import { MeshApiError } from '../errors.js';

/** Returns a current bearer token; `invalidate` drops a cached one (after a 401). */
export type TokenProvider = (() => Promise<string>) & { invalidate: () => void };

/** Options for {@link eksTokenProvider}. */
export interface EksTokenOptions {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  /** Defaults to the region's STS endpoint in its partition (`https://sts.<region>.amazonaws.com[.cn]`). */
  stsEndpoint?: string;
  /** Milliseconds since the epoch; tests pass a fixed clock. */
  clock?: () => number;
}

const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
// The API server accepts the presigned URL for 15 minutes after X-Amz-Date whatever X-Amz-Expires
// says; aws-iam-authenticator re-mints well before that, so a token never expires mid-request.
const EKS_TOKEN_REUSE_MS = 10 * 60 * 1000;

/** The aws-iam-authenticator token: a presigned STS GetCallerIdentity URL bound to the cluster name. */
export function eksTokenProvider(options: EksTokenOptions): TokenProvider {
  const clock = options.clock ?? Date.now;
  const signer = new SignatureV4({ service: 'sts', region: options.region, credentials: options.credentials, sha256: Sha256 });
  const endpoint = new URL(options.stsEndpoint ?? `https://${regionalStsHost(options.region)}`);
  let cached: { token: string; mintedAt: number } | undefined;

  const mint = async (now: number): Promise<string> => {
    const request = new HttpRequest({
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: endpoint.pathname,
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      // Signed but never hoisted into the query: the authenticator checks the header, which binds
      // the token to this cluster so another cluster cannot replay it.
      headers: { host: endpoint.host, 'x-k8s-aws-id': options.clusterName },
    });
    const signed = await signer.presign(request, { expiresIn: 60, signingDate: new Date(now), unhoistableHeaders: new Set(['x-k8s-aws-id']) });
    const query = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(String(v))}`)
      .join('&');
    const url = `${endpoint.protocol}//${endpoint.host}${endpoint.pathname}?${query}`;
    return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
  };

  const provider = async (): Promise<string> => {
    const now = clock();
    if (cached && now - cached.mintedAt < EKS_TOKEN_REUSE_MS) return cached.token;
    try {
      cached = { token: await mint(now), mintedAt: now };
    } catch (error) {
      throw new MeshApiError('could not mint an EKS token: no usable AWS credentials', { cause: error, retryable: true });
    }
    return cached.token;
  };
  return Object.assign(provider, { invalidate: () => (cached = undefined) });
}

/** The one Secrets Manager call the bearer-token provider needs (a SecretsManagerClient fits). */
export interface SecretValueReader {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
}

/** A bearer token kept in Secrets Manager (plain string or JSON `{ "token": ... }`), cached for `cacheSeconds`. */
export function secretsManagerTokenProvider(client: SecretValueReader, secretId: string, cacheSeconds: number, clock: () => number = Date.now): TokenProvider {
  let cached: { token: Promise<string>; fetchedAt: number } | undefined;

  const fetchToken = async (): Promise<string> => {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const token = tokenFromSecret(output.SecretString);
    if (!token) throw new MeshApiError(`secret ${secretId} holds no bearer token`, { retryable: false });
    return token;
  };

  const provider = async (): Promise<string> => {
    const now = clock();
    if (!cached || now - cached.fetchedAt >= cacheSeconds * 1000) {
      const entry = { token: fetchToken(), fetchedAt: now };
      cached = entry;
      // A failed fetch is evicted so the next call retries instead of replaying the failure.
      entry.token.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.token;
  };
  return Object.assign(provider, { invalidate: () => (cached = undefined) });
}

function tokenFromSecret(secret: string | undefined): string | undefined {
  const text = secret?.trim();
  if (!text) return undefined;
  if (!text.startsWith('{')) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    const token = typeof parsed === 'object' && parsed !== null ? (parsed as { token?: unknown }).token : undefined;
    return typeof token === 'string' && token.trim() !== '' ? token.trim() : undefined;
  } catch {
    return undefined;
  }
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
