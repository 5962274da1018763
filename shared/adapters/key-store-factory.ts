import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Settings } from '../config.js';
import { retirementDelaySeconds } from '../core/signing-keys.js';
import { SecretsManagerKeyStore } from './secrets-manager-key-store.js';
import { SecretsManagerJwks } from './secrets-manager-jwks.js';

/**
 * The control plane's signing keys from config. A retired key stays published for the longest
 * token lifetime plus the key cache time: a Lambda may sign with its cached old key that long.
 */
export function createKeyStore(
  config: Settings<'TOKEN_SECRET_PREFIX' | 'SIGNING_ALG' | 'KEY_CACHE_SECONDS' | 'DATA_PLANE_TOKEN_LIFETIME_SECONDS' | 'ONBOARDING_TOKEN_LIFETIME_SECONDS'>,
  secrets: SecretsManagerClient,
): SecretsManagerKeyStore {
  return new SecretsManagerKeyStore(secrets, {
    secretName: `${config.TOKEN_SECRET_PREFIX}/signing-keys`,
    alg: config.SIGNING_ALG,
    cacheSeconds: config.KEY_CACHE_SECONDS,
    retireAfterSeconds: retirementDelaySeconds([config.DATA_PLANE_TOKEN_LIFETIME_SECONDS, config.ONBOARDING_TOKEN_LIFETIME_SECONDS], config.KEY_CACHE_SECONDS),
    jwks: createJwks(config, secrets),
  });
}

/** The public keys' secret, `<prefix>/jwks`: all discovery reads. */
export function createJwks(config: Settings<'TOKEN_SECRET_PREFIX'>, secrets: SecretsManagerClient, cacheSeconds = 0): SecretsManagerJwks {
  return new SecretsManagerJwks(secrets, `${config.TOKEN_SECRET_PREFIX}/jwks`, cacheSeconds);
}
