import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from 'aws-lambda';
import { DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { DEFAULT_VERSION_CHECK_SECONDS, SecretsManagerKeyStore, type SecretsManagerKeyStoreOptions } from '../../shared/adapters/secrets-manager-key-store.js';
import { SecretsManagerJwks } from '../../shared/adapters/secrets-manager-jwks.js';
import { parseKeySet } from '../../shared/core/signing-keys.js';
import { toPublicKeySet } from '../../shared/core/public-key-set.js';
import { createDiscoveryHandler } from '../../functions/discovery/handler.js';
import { createKeysHandler } from '../../functions/keys/handler.js';
import { asFunction, asHandler } from '../support/aws-call-recorder.js';
import { localAwsConfig } from '../support/local-aws.js';

const T0 = new Date('2026-11-23T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const TOKEN_SECONDS = 60;
const CACHE_SECONDS = 30;
// What the handlers wire: the longest token lifetime plus the signers' key cache time.
const RETIRE_AFTER = TOKEN_SECONDS + CACHE_SECONDS;
// KEY_PREPUBLISH_SECONDS, compressed: a rotated-in key is published this long before it signs.
const PREPUBLISH = 120;
const ISSUER = 'https://mesh.example.com';

let sm: SecretsManagerClient;
let names = 0;
const aSecretName = (alg = 'rs') => `ecs-mesh-test-${alg}-${Date.now()}-${++names}/signing-keys`;

/** One store is one Lambda container: its own cache, its own clock. */
function aStore(secretName: string, options: Partial<SecretsManagerKeyStoreOptions> = {}, clock: () => number = Date.now) {
  return new SecretsManagerKeyStore(sm, { secretName, alg: 'RS256', cacheSeconds: CACHE_SECONDS, retireAfterSeconds: RETIRE_AFTER, prepublishSeconds: PREPUBLISH, ...options }, clock);
}

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

  it('publishes a rotated-in key as pending, signs with it only after KEY_PREPUBLISH_SECONDS, and prunes the old key later', async () => {
    const name = aSecretName();
    let clock = T0.getTime();
    const signer = aStore(name, {}, () => clock);
    const old = await signer.sign(claims(T0), T0);

    const rotation = await aStore(name).rotate(at(10));

    expect(rotation).toEqual({ outcome: 'rotated', activeKid: old.kid, pendingKid: expect.any(String), activatesAt: at(10 + PREPUBLISH).toISOString(), retiredKids: [], prunedKids: [] });
    const pending = rotation.pendingKid!;
    // Published at once, before any token is signed with it...
    expect((await aStore(name).publicKeys(at(10))).map((k) => k.kid)).toEqual([pending, old.kid]);
    // ...and not signing: every container keeps the old key until the pending one activates.
    expect(kidOf((await aStore(name).sign(claims(at(10)), at(10))).token)).toBe(old.kid);
    expect(kidOf((await aStore(name).sign(claims(at(9 + PREPUBLISH)), at(9 + PREPUBLISH))).token)).toBe(old.kid);
    expect(kidOf((await aStore(name).sign(claims(at(10 + PREPUBLISH)), at(10 + PREPUBLISH))).token)).toBe(pending);
    // A container whose cache predates the rotation signs with the old key until its cache expires.
    expect(kidOf((await signer.sign(claims(at(10 + PREPUBLISH)), at(10 + PREPUBLISH))).token)).toBe(old.kid);
    clock += (CACHE_SECONDS + 1) * 1000;
    expect(kidOf((await signer.sign(claims(at(11 + PREPUBLISH)), at(11 + PREPUBLISH))).token)).toBe(pending);
    await expect(verify(old.token, name, at(TOKEN_SECONDS - 1))).resolves.toBeDefined();
    const retires = 10 + PREPUBLISH + RETIRE_AFTER;
    expect((await aStore(name).publicKeys(at(retires - 1))).map((k) => k.kid)).toContain(old.kid);

    const pruned = await aStore(name).prune(at(retires));

    expect(pruned).toEqual({ outcome: 'pruned', activeKid: pending, retiredKids: [], prunedKids: [old.kid] });
    expect((await aStore(name).publicKeys(at(retires))).map((k) => k.kid)).toEqual([pending]);
    await expect(verify(old.token, name, at(TOKEN_SECONDS - 1))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });

  it('adds no second key while one is pending', async () => {
    const name = aSecretName();
    await aStore(name).sign(claims(T0), T0);
    const first = await aStore(name).rotate(at(5));

    const second = await aStore(name).rotate(at(6));

    expect(second).toMatchObject({ outcome: 'unchanged', pendingKid: first.pendingKid, activatesAt: first.activatesAt });
    expect(await versionCount(name)).toBe(2);
  });

  it('signs with the new key at once in an emergency rotation', async () => {
    const name = aSecretName();
    const old = await aStore(name).sign(claims(T0), T0);

    const rotation = await aStore(name).rotate(at(5), { emergency: true });

    expect(rotation).toMatchObject({ outcome: 'rotated', retiredKids: [old.kid] });
    expect(rotation.pendingKid).toBeUndefined();
    expect(kidOf((await aStore(name).sign(claims(at(5)), at(5))).token)).toBe(rotation.activeKid);
    expect(rotation.activeKid).not.toBe(old.kid);
  });

  it('makes every signer sign with the new key within seconds of an emergency rotation elsewhere', async () => {
    const prefix = `ecs-mesh-test-emergency-${Date.now()}-${++names}`;
    const name = `${prefix}/signing-keys`;
    let clock = T0.getTime();
    // This container signs as the auth Lambda: its version checks are calls of that role.
    const signer = aStore(name, {}, () => clock);
    const signAt = (seconds: number) => asFunction({ fn: 'auth', params: { TokenSecretPrefix: prefix } }, () => signer.sign(claims(at(seconds)), at(seconds)));
    const old = await signAt(0);

    // Another container (the keys Lambda) replaces the key, which signs at once.
    const rotation = await aStore(name).rotate(at(1), { emergency: true });
    clock = at(1 + DEFAULT_VERSION_CHECK_SECONDS).getTime();
    const after = await signAt(1 + DEFAULT_VERSION_CHECK_SECONDS);

    expect(DEFAULT_VERSION_CHECK_SECONDS).toBeLessThan(CACHE_SECONDS);
    expect(after.kid).toBe(rotation.activeKid);
    expect(after.kid).not.toBe(old.kid);
  });

  it('keeps every write of the key set within Secrets Manager\'s size limit over 40 emergency rotations in a day', async () => {
    // moto stores any size; AWS refuses a SecretString over 65,536 bytes ("Secret value size" in
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html), so the test enforces it.
    const SECRET_VALUE_LIMIT = 65_536;
    const name = aSecretName();
    const client = new SecretsManagerClient(localAwsConfig());
    const written: number[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { SecretString?: string };
        if (['CreateSecretCommand', 'PutSecretValueCommand', 'UpdateSecretCommand'].includes(context.commandName ?? '') && input.SecretString !== undefined)
          written.push(Buffer.byteLength(input.SecretString));
        return next(args);
      },
      { step: 'initialize', name: 'measureSecretValues' },
    );
    const DAY = 24 * 3600;
    const store = new SecretsManagerKeyStore(client, { secretName: name, alg: 'RS256', cacheSeconds: CACHE_SECONDS, retireAfterSeconds: DAY + CACHE_SECONDS, prepublishSeconds: PREPUBLISH });
    const first = await store.sign(claims(T0), T0);

    const rotations = [];
    for (let i = 1; i <= 40; i++) rotations.push(await store.rotate(at(i * 1800), { emergency: true }));

    expect(Math.max(...written)).toBeLessThanOrEqual(SECRET_VALUE_LIMIT);
    expect(written.length).toBe(41);
    const last = rotations.at(-1)!;
    expect((await aStore(name).sign(claims(at(40 * 1800)), at(40 * 1800))).kid).toBe(last.activeKid);
    // The room came from the oldest replaced keys, each named as revoked in the answer that dropped it.
    const revoked = rotations.flatMap((r) => r.revoked ?? []);
    expect(revoked[0]).toEqual({ kid: first.kid, signed: true, tokensWouldVerifyUntil: at(1800 + DAY + CACHE_SECONDS).toISOString() });
    expect((await aStore(name).publicKeys(at(40 * 1800))).map((k) => k.kid)).not.toContain(first.kid);
  });

  it('creates and publishes the first key when a new stack is rotated before any token exists', async () => {
    const name = aSecretName();
    const jwks = new SecretsManagerJwks(sm, name.replace(/signing-keys$/, 'jwks'), 0);
    const store = aStore(name, { jwks });

    const created = await store.rotate(T0);

    expect(created).toEqual({ outcome: 'created', activeKid: expect.any(String), retiredKids: [], prunedKids: [] });
    expect((await jwks.publicKeys(T0)).map((k) => k.kid)).toEqual([created.activeKid]);
    // The first key signs at once: no verifier can hold an earlier key of ours to be misled by.
    expect((await aStore(name, { jwks }).sign(claims(T0), T0)).kid).toBe(created.activeKid);
  });

  it('makes one new version out of two concurrent rotations', async () => {
    const name = aSecretName();
    await aStore(name).sign(claims(T0), T0);

    const results = await Promise.all([aStore(name).rotate(at(5)), aStore(name).rotate(at(5))]);

    expect(await versionCount(name)).toBe(2);
    expect(results.map((r) => r.outcome).sort()).toEqual(['rotated', 'superseded']);
    expect(results[0]?.pendingKid).toBe(results[1]?.pendingKid);
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
  /** Both profiles' stores and public keys under a fresh prefix, as the keys Lambda wires them. */
  const prefixes = new WeakMap<object, string>();
  /** The prefix keysDeps made the deps for: the stack param the keys role is resolved with. */
  const prefixOf = (deps: object) => prefixes.get(deps) ?? 'ecs-mesh';
  const keysDeps = (defaultProfile: 'istio' | 'kuma' = 'istio') => {
    const prefix = `ecs-mesh-test-keys-${Date.now()}-${++names}`;
    const published = { istio: new SecretsManagerJwks(sm, `${prefix}/jwks`, 0), kuma: new SecretsManagerJwks(sm, `${prefix}/jwks-kuma`, 0) };
    const store = (profile: 'istio' | 'kuma') => aStore(`${prefix}/signing-keys${profile === 'kuma' ? '-kuma' : ''}`, { jwks: published[profile] });
    const deps = { stores: { istio: store('istio'), kuma: store('kuma') }, published, defaultProfile };
    prefixes.set(deps, prefix);
    return { deps, store, prefix };
  };
  const post = (body?: unknown) => ({ ...httpEvent('POST', '/v1/keys/rotate'), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const list = (query?: Record<string, string>) => ({ ...httpEvent('GET', '/v1/keys'), ...(query ? { queryStringParameters: query } : {}) });
  type Item = { profile: string; kid: string; state: string; activatesAt?: string; jwk: { kid: string } };

  it('adds a pending key on POST /v1/keys/rotate, and GET /v1/keys lists it before it signs', async () => {
    const { deps, store } = keysDeps();
    const first = await store('istio').sign(claims(new Date()), new Date());
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));

    const res = await call(handler, post({ profile: 'istio' }));

    expect(res).toMatchObject({ status: 200, body: { changes: [{ profile: 'istio', outcome: 'rotated', activeKid: first.kid, retiredKids: [], prunedKids: [] }] } });
    const [change] = res.body.changes as { pendingKid: string; activatesAt: string }[];
    const listed = await call(handler, list());
    expect((listed.body.items as Item[]).map((i) => [i.profile, i.kid, i.state])).toEqual([
      ['istio', change!.pendingKid, 'pending'],
      ['istio', first.kid, 'active'],
    ]);
    expect((listed.body.items as Item[])[0]).toMatchObject({ activatesAt: change!.activatesAt, jwk: { kid: change!.pendingKid } });
    expect((await store('istio').sign(claims(new Date()), new Date())).kid).toBe(first.kid);
  });

  it('creates the first key of a new stack and publishes it at once, for the deployment\'s profile only', async () => {
    const { deps, store } = keysDeps();
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));

    const res = await call(handler, post());

    expect(res).toMatchObject({ status: 200, body: { changes: [{ profile: 'istio', outcome: 'created' }] } });
    const [change] = res.body.changes as { activeKid: string }[];
    const jwks = await call(createDiscoveryHandler(deps.published.istio, ISSUER, logger()), httpEvent('GET', '/.well-known/jwks.json'));
    expect((jwks.body.keys as { kid: string }[]).map((k) => k.kid)).toEqual([change!.activeKid]);
    expect((await store('istio').sign(claims(new Date()), new Date())).kid).toBe(change!.activeKid);
    expect(await deps.published.kuma.statuses(new Date())).toEqual([]);
  });

  it('signs with the new key at once when the rotation is an emergency', async () => {
    const { deps, store } = keysDeps();
    const first = await store('kuma').sign(claims(new Date()), new Date());
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));

    const res = await call(handler, post({ profile: 'kuma', emergency: true }));

    const [change] = res.body.changes as { activeKid: string; pendingKid?: string }[];
    expect(change).toMatchObject({ profile: 'kuma', outcome: 'rotated', retiredKids: [first.kid] });
    expect(change!.pendingKid).toBeUndefined();
    expect((await store('kuma').sign(claims(new Date()), new Date())).kid).toBe(change!.activeKid);
  });

  it('rotates every profile that has keys on its schedule', async () => {
    const { deps, store } = keysDeps();
    const istio = await store('istio').sign(claims(new Date()), new Date());
    const kuma = await store('kuma').sign(claims(new Date()), new Date());
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));

    const changes = (await handler(scheduled as never, {} as Context)) as { profile: string; outcome: string; activeKid: string; pendingKid: string }[];

    expect(changes.map((c) => [c.profile, c.outcome, c.activeKid])).toEqual([['istio', 'rotated', istio.kid], ['kuma', 'rotated', kuma.kid]]);
    expect(new Set(changes.map((c) => c.pendingKid)).size).toBe(2);
    expect((await call(handler, list({ profile: 'kuma' }))).body.items).toEqual([
      expect.objectContaining({ profile: 'kuma', kid: changes[1]!.pendingKid, state: 'pending' }),
      expect.objectContaining({ profile: 'kuma', kid: kuma.kid, state: 'active' }),
    ]);
  });

  // The edge's one status rule (functions/http/edge.ts): a schema failure is 422, as on every other route.
  it.each([
    { case: 'a GET of the rotate route', event: httpEvent('GET', '/v1/keys/rotate'), status: 405, reason: 'METHOD_NOT_ALLOWED' },
    { case: 'a POST of the listing', event: httpEvent('POST', '/v1/keys'), status: 405, reason: 'METHOD_NOT_ALLOWED' },
    { case: 'an unknown profile', event: post({ profile: 'consul' }), status: 422, reason: 'INVALID_REQUEST' },
    { case: 'an unknown field', event: post({ emergncy: true }), status: 422, reason: 'INVALID_REQUEST' },
    { case: 'a body that is not JSON', event: { ...httpEvent('POST', '/v1/keys/rotate'), body: 'rotate!' }, status: 400, reason: 'MALFORMED_BODY' },
    { case: 'a body over 1 KiB', event: { ...httpEvent('POST', '/v1/keys/revoke'), body: JSON.stringify({ kid: 'k'.repeat(2000) }) }, status: 413, reason: 'BODY_TOO_LARGE' },
    { case: 'an unknown listing filter', event: list({ profil: 'kuma' }), status: 400, reason: 'INVALID_QUERY' },
  ])('refuses $case', async ({ event, status, reason }) => {
    const { deps } = keysDeps();

    expect(await call(asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger())), event)).toMatchObject({ status, body: { reason } });
  });

  const revoke = (body: unknown) => ({ ...httpEvent('POST', '/v1/keys/revoke'), body: JSON.stringify(body) });

  it('withdraws a replaced key from the JWKS at once on POST /v1/keys/revoke, naming what stops verifying', async () => {
    const { deps, store } = keysDeps();
    const old = await store('istio').sign(claims(new Date()), new Date());
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));
    const [replacement] = (await call(handler, post({ profile: 'istio', emergency: true }))).body.changes as { activeKid: string }[];
    const wouldRetire = (await deps.published.istio.statuses(new Date())).find((k) => k.kid === old.kid)?.retiresAt;
    const before = parseKeySet((await sm.send(new GetSecretValueCommand({ SecretId: `${prefixOf(deps)}/signing-keys` }))).SecretString ?? '');
    if (!before.ok) throw new Error(before.detail);

    const res = await call(handler, revoke({ kid: old.kid }));

    expect(res).toEqual({
      status: 200,
      headers: expect.any(Object),
      body: {
        change: expect.objectContaining({ profile: 'istio', outcome: 'revoked', activeKid: replacement!.activeKid, revoked: [{ kid: old.kid, signed: true, tokensWouldVerifyUntil: wouldRetire }] }),
        stopsVerifying: `tokens signed with ${old.kid} stop verifying once verifiers refetch the JWKS; they would have verified until ${wouldRetire}`,
      },
    });
    const jwks = await call(createDiscoveryHandler(deps.published.istio, ISSUER, logger()), httpEvent('GET', '/.well-known/jwks.json'));
    const keys = jwks.body.keys as Parameters<typeof createLocalJWKSet>[0]['keys'];
    expect(keys.map((k) => k.kid)).toEqual([replacement!.activeKid]);
    await expect(jwtVerify(old.token, createLocalJWKSet({ keys }), { issuer: ISSUER, audience: 'istio-ca' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    // A signer that loaded the set before the revocation cannot publish the key again.
    await deps.published.istio.publish(toPublicKeySet(before.value));
    expect((await deps.published.istio.statuses(new Date())).map((k) => k.kid)).toEqual([replacement!.activeKid]);
    expect((await store('istio').sign(claims(new Date()), new Date())).kid).toBe(replacement!.activeKid);
  });

  it('refuses to revoke the key that signs, and a key it does not know', async () => {
    const { deps, store } = keysDeps();
    const signing = await store('istio').sign(claims(new Date()), new Date());
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));

    const active = await call(handler, revoke({ kid: signing.kid, profile: 'istio' }));
    const unknown = await call(handler, revoke({ kid: 'no-such-kid' }));

    expect(active).toMatchObject({ status: 409, body: { reason: 'KEY_SIGNING', message: expect.stringContaining('keys rotate --emergency') } });
    expect(unknown).toMatchObject({ status: 404, body: { reason: 'KEY_NOT_FOUND' } });
    expect((await deps.published.istio.statuses(new Date())).map((k) => k.kid)).toEqual([signing.kid]);
  });

  const withoutCaller = (event: APIGatewayProxyEventV2) => ({ ...event, requestContext: { ...event.requestContext, authorizer: undefined } });

  it.each([
    { case: 'a rotation with a repeated key', event: { ...httpEvent('POST', '/v1/keys/rotate'), body: '{"profile":"kuma","profile":"istio"}' }, status: 400, reason: 'MALFORMED_BODY' },
    { case: 'a revocation with a repeated key', event: { ...httpEvent('POST', '/v1/keys/revoke'), body: '{"kid":"a","kid":"b"}' }, status: 400, reason: 'MALFORMED_BODY' },
    { case: 'a rotation without an IAM caller', event: withoutCaller(post({ profile: 'istio', emergency: true })), status: 403, reason: 'UNAUTHENTICATED' },
    { case: 'a listing without an IAM caller', event: withoutCaller(list()), status: 403, reason: 'UNAUTHENTICATED' },
  ])('refuses $case and changes nothing', async ({ event, status, reason }) => {
    const { deps, store } = keysDeps();
    const signing = await store('istio').sign(claims(new Date()), new Date());

    const res = await call(asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger())), event);

    expect(res).toMatchObject({ status, body: { reason } });
    expect((await deps.published.istio.statuses(new Date())).map((k) => [k.kid, k.state])).toEqual([[signing.kid, 'active']]);
    expect(await deps.published.kuma.statuses(new Date())).toEqual([]);
  });

  it('audits each rotation by kid and never logs key material', async () => {
    const { deps, store, prefix } = keysDeps();
    await store('istio').sign(claims(new Date()), new Date());
    const handler = asHandler({ fn: 'keys', params: { TokenSecretPrefix: prefixOf(deps) } }, createKeysHandler(deps, logger()));
    logLines.length = 0;

    await call(handler, post());
    await call(handler, post({ profile: 'istio', emergency: true }));
    await call(createDiscoveryHandler(deps.published.istio, ISSUER, logger()), httpEvent('GET', '/.well-known/jwks.json'));
    await call(handler, list());

    const stored = parseKeySet((await sm.send(new GetSecretValueCommand({ SecretId: `${prefix}/signing-keys` }))).SecretString ?? '');
    if (!stored.ok) throw new Error(stored.detail);
    const audits = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === 'signing-keys');
    expect(audits.map((a) => [a.trigger, a.profile, a.emergency, a.outcome])).toEqual([
      ['arn:aws:iam::123456789012:user/operator', 'istio', false, 'rotated'],
      ['arn:aws:iam::123456789012:user/operator', 'istio', true, 'rotated'],
    ]);
    expect(audits[1]?.activeKid).toBe(stored.value.keys[0]?.kid);
    const secrets = stored.value.keys.flatMap((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].map((m) => k.privateJwk[m] as string));
    expect(secrets.length).toBeGreaterThanOrEqual(12);
    for (const value of secrets) for (const line of logLines) expect(line).not.toContain(value);
  });
});
