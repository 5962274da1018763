import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.js';
import { retirementDelaySeconds } from '../core/signing-keys.js';
import { SecretsManagerKeyStore } from './secrets-manager-key-store.js';

/**
 * The control plane's signing keys from config. A retired key stays published for the longest
 * token lifetime plus the key cache time: a Lambda may sign with its cached old key that long.
 */
export function createKeyStore(config: Config, secrets: SecretsManagerClient, options: { maxCacheSeconds?: number } = {}): SecretsManagerKeyStore {
  return new SecretsManagerKeyStore(secrets, {
    secretName: `${config.TOKEN_SECRET_PREFIX}/signing-keys`,
    alg: config.SIGNING_ALG,
    cacheSeconds: Math.min(config.KEY_CACHE_SECONDS, options.maxCacheSeconds ?? Infinity),
    retireAfterSeconds: retirementDelaySeconds([config.DATA_PLANE_TOKEN_LIFETIME_SECONDS, config.ONBOARDING_TOKEN_LIFETIME_SECONDS], config.KEY_CACHE_SECONDS),
  });
}
