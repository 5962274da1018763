import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { SecretsManagerKeyStore } from '../../shared/adapters/secrets-manager-key-store.js';
import { newKeySet } from '../../shared/core/signing-keys.js';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const awsError = (name: string) => Object.assign(new Error(name), { name });

/** The key set another Lambda created a moment ago. */
async function theirSet() {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { kid, text: JSON.stringify(newKeySet({ kid, alg: 'RS256', createdAt: NOW.toISOString(), publicJwk: { ...publicJwk, kty: 'RSA' }, privateJwk: { ...(await exportJWK(privateKey)), kty: 'RSA' } })) };
}

// Moto makes a created secret readable at once; Secrets Manager may not, just after its creation.
describe('a signer that loses the creation of the first key', () => {
  const store = (sm: SecretsManagerClient) => new SecretsManagerKeyStore(sm, { secretName: 'p/signing-keys', alg: 'RS256', cacheSeconds: 0, retireAfterSeconds: 60, prepublishSeconds: 60 });

  it('reads the winner\'s key again until it can, and signs with it', async () => {
    const theirs = await theirSet();
    const sm = mockClient(SecretsManagerClient);
    sm.on(CreateSecretCommand).rejects(awsError('ResourceExistsException'));
    sm.on(GetSecretValueCommand)
      .rejectsOnce(awsError('ResourceNotFoundException')) // before creating: no key set yet
      .rejectsOnce(awsError('ResourceNotFoundException')) // just after losing: not readable yet
      .resolves({ SecretString: theirs.text, VersionId: 'v1' });

    const signed = await store(new SecretsManagerClient({})).sign({ sub: 'x' }, new Date(NOW.getTime() - 3));

    expect(signed.kid).toBe(theirs.kid);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    sm.restore();
  });

  it('gives up with the creation error when the winner\'s key set never becomes readable', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(CreateSecretCommand).rejects(awsError('ResourceExistsException'));
    sm.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException'));

    await expect(store(new SecretsManagerClient({})).sign({ sub: 'x' }, NOW)).rejects.toMatchObject({ name: 'ResourceExistsException' });
    // One read before creating, then each try after losing.
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(4);
    sm.restore();
  });
});
