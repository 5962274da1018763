import { describe, expect, it } from 'vitest';
import { GetSecretValueCommand, ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { SecretsManagerKeyStore } from '../../shared/adapters/secrets-manager-key-store.js';
import { SecretsManagerJwks } from '../../shared/adapters/secrets-manager-jwks.js';
import { keyStates, parseKeySet } from '../../shared/core/signing-keys.js';
import { asFunction, type FunctionName } from '../support/aws-call-recorder.js';
import { localAwsConfig } from '../support/local-aws.js';

// A brand-new stack whose first tokens are asked for all at once: every Lambda container finds no
// key set, generates a key and races CreateSecret; their clocks differ by a few milliseconds.
const T0 = new Date('2026-11-23T10:00:00.000Z').getTime();
const SIGNERS = 15;
const ISSUER = 'https://mesh.example.com';
// Who signs, and who reads the published keys (discovery serves istio's only; kuma's go out through the keys API).
const PROFILES = {
  istio: { keys: 'signing-keys', jwks: 'jwks', fn: 'auth', reader: 'discovery' },
  kuma: { keys: 'signing-keys-kuma', jwks: 'jwks-kuma', fn: 'taskEvents', reader: 'keys' },
} as const;
type Profile = keyof typeof PROFILES;

const sm = () => new SecretsManagerClient(localAwsConfig());

/**
 * Secrets Manager creates a name at most once. moto's CreateSecret checks for the name and then
 * adds the secret without a lock (moto/secretsmanager/models.py), so under load two concurrent
 * creations can both succeed there, the second overwriting the first. The signers' CreateSecret
 * calls are taken one at a time to restore AWS's guarantee; every other call still races.
 */
let creating: Promise<unknown> = Promise.resolve();
function withAtomicCreate(client: SecretsManagerClient): SecretsManagerClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'CreateSecretCommand') return next(args);
      const turn = creating.then(() => next(args));
      creating = turn.catch(() => undefined);
      return turn;
    },
    { step: 'initialize', name: 'atomicCreateSecret' },
  );
  return client;
}
let stacks = 0;
const aPrefix = () => `ecs-mesh-race-${Date.now()}-${++stacks}`;
/** Signer i's clock: up to 5 ms either side of T0. */
const skewed = (i: number) => T0 + ((i * 7) % 11) - 5;

/** One Lambda container: its own client, cache, clock and key store. */
function aContainer(prefix: string, profile: Profile, clock: () => number) {
  const names = PROFILES[profile];
  const jwks = new SecretsManagerJwks(sm(), `${prefix}/${names.jwks}`, 0, clock);
  return new SecretsManagerKeyStore(withAtomicCreate(sm()), { secretName: `${prefix}/${names.keys}`, alg: 'RS256', cacheSeconds: 30, retireAfterSeconds: 3600, prepublishSeconds: 600, jwks }, clock);
}

const claims = (now: number, i: number) => ({ iss: ISSUER, sub: `system:serviceaccount:ns:sa-${i}`, aud: 'istio-ca', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 600 });
const as = <T>(fn: FunctionName, prefix: string, work: () => Promise<T>) => asFunction({ fn, params: { TokenSecretPrefix: prefix } }, work);

async function storedSet(prefix: string, profile: Profile) {
  const out = await sm().send(new GetSecretValueCommand({ SecretId: `${prefix}/${PROFILES[profile].keys}` }));
  const parsed = parseKeySet(out.SecretString ?? '');
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.value;
}

describe('the first signers of a new stack', () => {
  it.each(Object.keys(PROFILES) as Profile[])('all sign, with one %s key, when they race its creation with skewed clocks', async (profile) => {
    const prefix = aPrefix();
    const clocks = Array.from({ length: SIGNERS }, (_, i) => skewed(i));

    const signed = await Promise.all(
      clocks.map((now, i) => as(PROFILES[profile].fn, prefix, () => aContainer(prefix, profile, () => now).sign(claims(now, i), new Date(now)))),
    );

    expect(new Set(signed.map((s) => s.kid)).size).toBe(1);
    const set = await storedSet(prefix, profile);
    expect(set.keys.map((k) => k.kid)).toEqual([signed[0]!.kid]);
    // One active key at every signer's clock: none of them sees the key as pending.
    for (const now of clocks) expect(keyStates(set.keys, new Date(now)).map((s) => s.state)).toEqual(['active']);
    expect((await sm().send(new ListSecretVersionIdsCommand({ SecretId: `${prefix}/${PROFILES[profile].keys}` }))).Versions).toHaveLength(1);
    // Every token verifies through the published public keys, as a verifier with any of the clocks sees them.
    const published = new SecretsManagerJwks(sm(), `${prefix}/${PROFILES[profile].jwks}`, 0);
    for (const [i, s] of signed.entries()) {
      const keys = await as(PROFILES[profile].reader, prefix, () => published.publicKeys(new Date(clocks[i]!)));
      await expect(jwtVerify(s.token, createLocalJWKSet({ keys }), { issuer: ISSUER, audience: 'istio-ca', currentDate: new Date(clocks[i]!) })).resolves.toBeDefined();
    }
  });

  it('signs with the first key when its clock is a few ms behind the container that created it', async () => {
    const prefix = aPrefix();
    const created = await aContainer(prefix, 'istio', () => T0).sign(claims(T0, 0), new Date(T0));

    const behind = await aContainer(prefix, 'istio', () => T0 - 3).sign(claims(T0 - 3, 1), new Date(T0 - 3));

    expect(behind.kid).toBe(created.kid);
  });
});
