import { describe, expect, it } from 'vitest';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { SecretsManagerKeyStore } from '../../shared/adapters/secrets-manager-key-store.js';
import { SecretsManagerJwks } from '../../shared/adapters/secrets-manager-jwks.js';
import { asFunction, type FunctionName } from '../support/aws-call-recorder.js';
import { localAwsConfig } from '../support/local-aws.js';

// Discovery reads only `<prefix>/jwks`: the signers must have published there before they sign.
const sm = () => new SecretsManagerClient(localAwsConfig());
const setup = (prefix: string) => {
  const jwks = new SecretsManagerJwks(sm(), `${prefix}/jwks`, 0);
  const signer = (alg: 'RS256' | 'ES256' = 'RS256') => new SecretsManagerKeyStore(sm(), { secretName: `${prefix}/signing-keys`, alg, cacheSeconds: 0, retireAfterSeconds: 3600, prepublishSeconds: 600, jwks });
  // For the IAM check: the auth exchange signs, keys rotates, discovery reads the public keys.
  const as = <T>(fn: FunctionName, work: () => Promise<T>) => asFunction({ fn, params: { TokenSecretPrefix: prefix } }, work);
  return { jwks, signer, as };
};
const now = new Date('2026-11-23T10:00:00.000Z');
// Once the rotated-in key has been published for its 600 s.
const later = new Date(now.getTime() + 600_000);

describe('the public JWKS secret', () => {
  it('holds the signing key before the first token exists, and public members only', async () => {
    const { jwks, signer, as } = setup('jwks-first');

    const { token, kid } = await as('auth', () => signer().sign({ sub: 'x' }, now));

    const stored = (await sm().send(new GetSecretValueCommand({ SecretId: 'jwks-first/jwks' }))).SecretString!;
    expect(stored).not.toMatch(/"(d|p|q|dp|dq|qi)"/);
    const keys = await as('discovery', () => jwks.publicKeys(now));
    expect(keys.map((k) => k.kid)).toEqual([kid]);
    await expect(jwtVerify(token, createLocalJWKSet({ keys }))).resolves.toBeDefined();
  });

  it('publishes a rotated-in key while it is pending, and a signer with an older set never takes it down', async () => {
    const { jwks, signer, as } = setup('jwks-rotate');
    const stale = signer();
    const old = await as('auth', () => stale.sign({ sub: 'before' }, now));

    const rotation = await as('keys', () => signer().rotate(now));
    await as('auth', () => stale.sign({ sub: 'still cached' }, now)); // cacheSeconds 0: re-reads, so it now holds the new set
    const pendingKeys = await as('discovery', () => jwks.publicKeys(now));
    const fresh = await as('auth', () => signer().sign({ sub: 'after' }, later));

    expect(pendingKeys.map((k) => k.kid)).toEqual([rotation.pendingKid, old.kid]);
    const keys = await jwks.publicKeys(later);
    expect(keys.map((k) => k.kid)).toEqual([rotation.pendingKid, old.kid]);
    expect(fresh.kid).toBe(rotation.pendingKid);
    for (const t of [old.token, fresh.token]) await expect(jwtVerify(t, createLocalJWKSet({ keys }))).resolves.toBeDefined();
  });
});
