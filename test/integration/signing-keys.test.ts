import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from 'aws-lambda';
import { DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { SecretsManagerKeyStore, type SecretsManagerKeyStoreOptions } from '../../shared/adapters/secrets-manager-key-store.js';
import { parseKeySet } from '../../shared/core/signing-keys.js';
import { createDiscoveryHandler } from '../../functions/discovery/handler.js';
import { createKeysHandler } from '../../functions/keys/handler.js';
import { localAwsConfig } from '../support/local-aws.js';
import { asHandler } from '../support/aws-call-recorder.js';

const T0 = new Date('2026-11-23T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const TOKEN_SECONDS = 60;
const CACHE_SECONDS = 30;
// What the handlers wire: the longest token lifetime plus the signers' key cache time.
const RETIRE_AFTER = TOKEN_SECONDS + CACHE_SECONDS;
const ISSUER = 'https://mesh.example.com';

let sm: SecretsManagerClient;
let names = 0;
const aSecretName = (alg = 'rs') => `ecs-mesh-test-${alg}-${Date.now()}-${++names}/signing-keys`;

/** One store is one Lambda container: its own cache, its own clock. */
function aStore(secretName: string, options: Partial<SecretsManagerKeyStoreOptions> = {}, clock: () => number = Date.now) {
  return new SecretsManagerKeyStore(sm, { secretName, alg: 'RS256', cacheSeconds: CACHE_SECONDS, retireAfterSeconds: RETIRE_AFTER, ...options }, clock);
}

/** The keys function over the key set `secretName` (`<prefix>/signing-keys`), its calls recorded for the IAM check. */
const keysHandler = (secretName: string) =>
  asHandler({ fn: 'keys', params: { TokenSecretPrefix: secretName.replace(/\/signing-keys$/, '') } }, createKeysHandler(aStore(secretName), logger()));

const claims = (now: Date, sub = 'system:serviceaccount:bookinfo:ratings') => ({ iss: ISSUER, sub, aud: 'istio-ca', iat: now.getTime() / 1000, exp: now.getTime() / 1000 + TOKEN_SECONDS });

/** Verifies as istiod would, with the JWKS a fresh container publishes at `now`. */
async function verify(token: string, secretName: string, now: Date) {
  const jwks = createLocalJWKSet({ keys: await aStore(secretName).publicKeys(now) });
  return jwtVerify(token, jwks, { issuer: ISSUER, audience: 'istio-ca', currentDate: now });
}

const versionCount = async (secretName: string) => (await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretName }))).Versions?.length;
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

// Every line both loggers write, to check that no key material ever reaches a log.
const logLines: string[] = [];
const capture = (chunk: unknown) => (logLines.push(String(chunk)), true);
beforeAll(() => {
  sm = new SecretsManagerClient(localAwsConfig());
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterAll(() => vi.restoreAllMocks());

describe('SecretsManagerKeyStore', () => {
  it('creates the key set on first sign, tagged as ours', async () => {
    const name = aSecretName();

    const signed = await aStore(name).sign(claims(T0), T0);

    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Tags).toEqual(expect.arrayContaining([{ Key: 'ecsmesh.io/managed-by', Value: 'ecs-mesh-onboarding' }, { Key: 'ecsmesh.io/kind', Value: 'signing-keys' }]));
    expect(decodeProtectedHeader(signed.token)).toEqual({ alg: 'RS256', kid: signed.kid, typ: 'JWT' });
    expect((await verify(signed.token, name, T0)).payload.sub).toBe('system:serviceaccount:bookinfo:ratings');
    const [published] = await aStore(name).publicKeys(T0);
    expect(await calculateJwkThumbprint(published!)).toBe(signed.kid);
  });

  it('signs with ES256 when asked, and the token verifies', async () => {
    const name = aSecretName('es');

    const signed = await aStore(name, { alg: 'ES256' }).sign(claims(T0), T0);

    expect(signed.alg).toBe('ES256');
    expect((await verify(signed.token, name, T0)).protectedHeader).toMatchObject({ alg: 'ES256', kid: signed.kid });
  });

  it('publishes nothing and creates nothing before the first token is signed', async () => {
    const name = aSecretName();

    await expect(aStore(name).publicKeys(T0)).resolves.toEqual([]);

    await expect(sm.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('ends ten concurrent first signs in separate containers with one key set', async () => {
    const name = aSecretName();

    const signed = await Promise.all(Array.from({ length: 10 }, (_, i) => aStore(name).sign(claims(T0, `system:serviceaccount:ns:sa-${i}`), T0)));

    expect(await versionCount(name)).toBe(1);
    expect(new Set(signed.map((s) => s.kid)).size).toBe(1);
    for (const s of signed) await expect(verify(s.token, name, T0)).resolves.toBeDefined();
  });

  it('keeps an old token verifiable until its key retires, then prunes the key', async () => {
    const name = aSecretName();
    let clock = T0.getTime();
    const signer = aStore(name, {}, () => clock);
    const old = await signer.sign(claims(T0), T0);

    const rotation = await aStore(name).rotate(at(10));

    expect(rotation).toEqual({ outcome: 'rotated', activeKid: expect.any(String), retiredKids: [old.kid], prunedKids: [] });
    expect(rotation.activeKid).not.toBe(old.kid);
    expect(kidOf((await aStore(name).sign(claims(at(10)), at(10))).token)).toBe(rotation.activeKid);
    // A container that cached the old key signs with it until its cache expires: why keys retire late.
    expect(kidOf((await signer.sign(claims(at(20)), at(20))).token)).toBe(old.kid);
    clock += (CACHE_SECONDS + 1) * 1000;
    expect(kidOf((await signer.sign(claims(at(41)), at(41))).token)).toBe(rotation.activeKid);
    await expect(verify(old.token, name, at(TOKEN_SECONDS - 1))).resolves.toBeDefined();
    expect((await aStore(name).publicKeys(at(10 + RETIRE_AFTER - 1))).map((k) => k.kid)).toContain(old.kid);

    const pruned = await aStore(name).prune(at(10 + RETIRE_AFTER));

    expect(pruned).toEqual({ outcome: 'pruned', activeKid: rotation.activeKid, retiredKids: [], prunedKids: [old.kid] });
    expect((await aStore(name).publicKeys(at(10 + RETIRE_AFTER))).map((k) => k.kid)).toEqual([rotation.activeKid]);
    await expect(verify(old.token, name, at(TOKEN_SECONDS - 1))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });

  it('makes one new version out of two concurrent rotations', async () => {
    const name = aSecretName();
    await aStore(name).sign(claims(T0), T0);

    const results = await Promise.all([aStore(name).rotate(at(5)), aStore(name).rotate(at(5))]);

    expect(await versionCount(name)).toBe(2);
    expect(results.map((r) => r.outcome).sort()).toEqual(['rotated', 'superseded']);
    expect(results[0]?.activeKid).toBe(results[1]?.activeKid);
  });

  it('leaves the key set alone when nothing is due for pruning', async () => {
    const name = aSecretName();
    await aStore(name).sign(claims(T0), T0);

    const result = await aStore(name).prune(at(5));

    expect(result?.outcome).toBe('unchanged');
    expect(await versionCount(name)).toBe(1);
  });
});

const logger = () => new Logger({ serviceName: 'signing-keys-test', logLevel: 'DEBUG' });
const httpEvent = (method: string, path: string) =>
  ({ version: '2.0', routeKey: `${method} ${path}`, rawPath: path, headers: {}, isBase64Encoded: false, requestContext: { http: { method, path }, authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/operator' } } } }) as unknown as APIGatewayProxyEventV2;
const scheduled = { version: '0', id: 'e1', source: 'aws.events', 'detail-type': 'Scheduled Event', account: '123456789012', time: T0.toISOString(), region: 'us-east-1', resources: ['arn:aws:events:us-east-1:123456789012:rule/rotate-signing-keys'], detail: {} } as ScheduledEvent;
const call = async (handler: (e: never, c: Context) => Promise<unknown>, event: unknown) => {
  const res = (await handler(event as never, {} as Context)) as APIGatewayProxyStructuredResultV2;
  return { status: res.statusCode, headers: res.headers, body: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
};

describe('discovery handler', () => {
  it('serves the OpenID configuration with cache headers', async () => {
    const handler = createDiscoveryHandler(aStore(aSecretName()), `${ISSUER}/`, logger());

    const res = await call(handler, httpEvent('GET', '/.well-known/openid-configuration'));

    expect(res).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
      body: {
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        claims_supported: expect.arrayContaining(['iss', 'sub', 'aud', 'exp', 'Name', 'Mesh']),
      },
    });
  });

  it('serves the JWKS a signed token verifies against', async () => {
    const name = aSecretName();
    const signed = await aStore(name).sign(claims(T0), T0);
    const handler = createDiscoveryHandler(aStore(name), ISSUER, logger());

    const res = await call(handler, httpEvent('GET', '/.well-known/jwks.json'));

    expect(res.headers?.['cache-control']).toBe('public, max-age=300');
    const keys = res.body.keys as Parameters<typeof createLocalJWKSet>[0]['keys'];
    expect(keys.map((k) => k.kid)).toEqual([signed.kid]);
    await expect(jwtVerify(signed.token, createLocalJWKSet({ keys }), { currentDate: T0 })).resolves.toBeDefined();
  });

  it.each([
    { $case: 'an unknown path', method: 'GET', path: '/.well-known/other', status: 404 },
    { $case: 'a POST', method: 'POST', path: '/.well-known/jwks.json', status: 405 },
  ])('refuses $case', async ({ method, path, status }) => {
    const handler = createDiscoveryHandler(aStore(aSecretName()), ISSUER, logger());

    expect((await call(handler, httpEvent(method, path))).status).toBe(status);
  });
});

describe('keys handler', () => {
  it('rotates on POST /v1/keys/rotate', async () => {
    const name = aSecretName();
    const first = await aStore(name).sign(claims(T0), T0);
    const handler = keysHandler(name);

    const res = await call(handler, httpEvent('POST', '/v1/keys/rotate'));

    expect(res).toMatchObject({ status: 200, body: { outcome: 'rotated', retiredKids: [first.kid], prunedKids: [] } });
    expect(res.body.activeKid).not.toBe(first.kid);
    expect(await versionCount(name)).toBe(2);
  });

  it('rotates on its schedule', async () => {
    const name = aSecretName();
    const first = await aStore(name).sign(claims(T0), T0);
    const handler = keysHandler(name);

    const change = (await handler(scheduled as never, {} as Context)) as { outcome: string; activeKid: string; retiredKids: string[] };

    expect(change).toMatchObject({ outcome: 'rotated', retiredKids: [first.kid] });
    expect((await aStore(name).sign(claims(T0), T0)).kid).toBe(change.activeKid);
  });

  it('creates the key set on POST /v1/keys/rotate when there is none yet', async () => {
    const name = aSecretName();
    const handler = keysHandler(name);

    const res = await call(handler, httpEvent('POST', '/v1/keys/rotate'));

    expect(res).toMatchObject({ status: 200, body: { outcome: 'created' } });
    expect(await versionCount(name)).toBe(1);
  });

  it('refuses a GET', async () => {
    const handler = keysHandler(aSecretName());

    expect((await call(handler, httpEvent('GET', '/v1/keys/rotate'))).status).toBe(405);
  });

  it('audits each rotation by kid and never logs key material', async () => {
    const name = aSecretName();
    await aStore(name).sign(claims(T0), T0);
    const handler = keysHandler(name);
    logLines.length = 0;

    await call(handler, httpEvent('POST', '/v1/keys/rotate'));
    await handler(scheduled as never, {} as Context);
    await call(createDiscoveryHandler(aStore(name), ISSUER, logger()), httpEvent('GET', '/.well-known/jwks.json'));

    const stored = parseKeySet((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '');
    if (!stored.ok) throw new Error(stored.detail);
    const audits = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === 'signing-keys');
    expect(audits.map((a) => [a.trigger, a.activeKid])).toEqual([
      ['arn:aws:iam::123456789012:user/operator', stored.value.keys[1]?.kid],
      ['schedule', stored.value.activeKid],
    ]);
    const secrets = stored.value.keys.flatMap((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].map((m) => k.privateJwk[m] as string));
    expect(secrets).toHaveLength(18);
    for (const value of secrets) for (const line of logLines) expect(line).not.toContain(value);
  });
});
