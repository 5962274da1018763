import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { eksTokenProvider, secretsManagerTokenProvider, type SecretValueReader } from '../../shared/adapters/kubernetes-auth.js';
import { MeshApiError } from '../../shared/errors.js';
import { resolveStsEndpoint } from '../../shared/core/sts-endpoint.js';

const NOW = Date.parse('2026-08-01T12:00:00Z');
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };

/** The presigned URL inside an EKS token. */
const decodeEksToken = (token: string): URL => {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  return new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
};

describe('Function: eksTokenProvider', () => {
  it.each([
    ['cn-north-1', 'https://sts.cn-north-1.amazonaws.com.cn', 'aws-cn'],
    ['cn-northwest-1', 'https://sts.cn-northwest-1.amazonaws.com.cn', 'aws-cn'],
    ['us-gov-west-1', 'https://sts.us-gov-west-1.amazonaws.com', 'aws-us-gov'],
    ['ap-southeast-2', 'https://sts.ap-southeast-2.amazonaws.com', 'aws'],
  ])('presigns for the STS host of the region’s partition (%s)', async (region, origin, partition) => {
    const url = decodeEksToken(await eksTokenProvider({ clusterName: 'mesh', region, credentials: CREDENTIALS, clock: () => NOW })());

    expect(url.origin).toBe(origin);
    expect(url.searchParams.get('X-Amz-Credential')).toBe(`AKIDEXAMPLE/20260801/${region}/sts/aws4_request`);
    // The host is one the allow-list of real STS endpoints knows, in that partition.
    expect(resolveStsEndpoint(`${url.origin}/`)).toMatchObject({ ok: true, partition, region });
  });

  it('mints a presigned GetCallerIdentity URL bound to the cluster', async () => {
    const provider = eksTokenProvider({ clusterName: 'mesh-prod', region: 'eu-west-1', credentials: CREDENTIALS, clock: () => NOW });

    const token = await provider();

    const url = decodeEksToken(token);
    expect(token).not.toMatch(/=+$/);
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20260801/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20260801T120000Z',
      'X-Amz-Expires': '60',
      'X-Amz-Security-Token': 'session-token',
    });
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.has('x-k8s-aws-id')).toBe(false);
  });

  it('signs for a custom STS endpoint', async () => {
    const provider = eksTokenProvider({ clusterName: 'mesh', region: 'us-east-1', credentials: async () => CREDENTIALS, stsEndpoint: 'http://127.0.0.1:5000', clock: () => NOW });

    const token = await provider();

    expect(decodeEksToken(token).origin).toBe('http://127.0.0.1:5000');
  });

  it('reuses a token for ten minutes and then mints a new one', async () => {
    let now = NOW;
    const provider = eksTokenProvider({ clusterName: 'mesh', region: 'us-east-1', credentials: CREDENTIALS, clock: () => now });
    const first = await provider();

    now += 9 * 60_000;
    const reused = await provider();
    now += 2 * 60_000;
    const fresh = await provider();

    expect(reused).toBe(first);
    expect(fresh).not.toBe(first);
    expect(decodeEksToken(fresh).searchParams.get('X-Amz-Date')).toBe('20260801T121100Z');
  });

  it('mints a new token after invalidate', async () => {
    let now = NOW;
    const provider = eksTokenProvider({ clusterName: 'mesh', region: 'us-east-1', credentials: CREDENTIALS, clock: () => now });
    const first = await provider();
    now += 1000;

    provider.invalidate();
    const second = await provider();

    expect(second).not.toBe(first);
  });

  it('reports missing credentials as a retryable MeshApiError', async () => {
    const provider = eksTokenProvider({ clusterName: 'mesh', region: 'us-east-1', credentials: async () => Promise.reject(new Error('no credentials')), clock: () => NOW });

    const attempt = provider();

    await expect(attempt).rejects.toBeInstanceOf(MeshApiError);
    await expect(attempt).rejects.toMatchObject({ retryable: true });
  });
});

/** A Secrets Manager that answers from a queue of secret strings (or errors) and counts calls. */
class FakeSecrets implements SecretValueReader {
  readonly requested: (string | undefined)[] = [];
  constructor(private readonly answers: (string | Error)[]) {}

  async send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput> {
    this.requested.push(command.input.SecretId);
    const answer = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
    if (answer instanceof Error) throw answer;
    return { SecretString: answer, $metadata: {} };
  }
}

describe('Function: secretsManagerTokenProvider', () => {
  it.each([
    { case: 'a plain string', secret: 'plain-token-1\n', token: 'plain-token-1' },
    { case: 'JSON with a token field', secret: '{"token":"json-token-1","expiresAt":"2026-08-02T00:00:00Z"}', token: 'json-token-1' },
  ])('reads $case', async ({ secret, token }) => {
    const secrets = new FakeSecrets([secret]);
    const provider = secretsManagerTokenProvider(secrets, 'mesh/k8s-token', 300, () => NOW);

    const result = await provider();

    expect(result).toBe(token);
    expect(secrets.requested).toEqual(['mesh/k8s-token']);
  });

  it.each([
    { case: 'an empty secret', secret: '  ' },
    { case: 'JSON without a token', secret: '{"password":"hunter2"}' },
    { case: 'malformed JSON', secret: '{"token": hunter2' },
  ])('refuses $case without echoing it', async ({ secret }) => {
    const provider = secretsManagerTokenProvider(new FakeSecrets([secret]), 'mesh/k8s-token', 300, () => NOW);

    const attempt = provider();

    await expect(attempt).rejects.toMatchObject({ name: 'MeshApiError', retryable: false });
    await expect(attempt).rejects.not.toHaveProperty('message', expect.stringContaining('hunter2'));
  });

  it('caches the token for cacheSeconds', async () => {
    let now = NOW;
    const secrets = new FakeSecrets(['token-1', 'token-2']);
    const provider = secretsManagerTokenProvider(secrets, 'mesh/k8s-token', 60, () => now);
    await provider();

    now += 59_000;
    const cached = await provider();
    now += 1_000;
    const refreshed = await provider();

    expect(cached).toBe('token-1');
    expect(refreshed).toBe('token-2');
    expect(secrets.requested).toHaveLength(2);
  });

  it('shares one fetch between concurrent callers', async () => {
    const secrets = new FakeSecrets(['token-1']);
    const provider = secretsManagerTokenProvider(secrets, 'mesh/k8s-token', 60, () => NOW);

    const tokens = await Promise.all([provider(), provider(), provider()]);

    expect(tokens).toEqual(['token-1', 'token-1', 'token-1']);
    expect(secrets.requested).toHaveLength(1);
  });

  it('does not cache a failed fetch', async () => {
    const secrets = new FakeSecrets([new Error('throttled'), 'token-1']);
    const provider = secretsManagerTokenProvider(secrets, 'mesh/k8s-token', 60, () => NOW);
    await expect(provider()).rejects.toThrow('throttled');

    const token = await provider();

    expect(token).toBe('token-1');
  });

  it('fetches again after invalidate', async () => {
    const secrets = new FakeSecrets(['token-1', 'token-2']);
    const provider = secretsManagerTokenProvider(secrets, 'mesh/k8s-token', 300, () => NOW);
    await provider();

    provider.invalidate();
    const token = await provider();

    expect(token).toBe('token-2');
  });
});
