import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Settings } from '../config.js';
import { retirementDelaySeconds, type SigningAlg } from '../core/signing-keys.js';
import { TOKEN_PROFILES, type TokenProfile } from '../core/tokens.js';
import { SecretsManagerKeyStore } from './secrets-manager-key-store.js';
import { SecretsManagerJwks } from './secrets-manager-jwks.js';

/**
 * Each claim profile has its own key set, so a token of one profile can never pass the other's
 * verifiers: Kuma ignores `iss`/`aud`, and would take an istio token signed with a key it trusts
 * for a wildcard data-plane token. istio keeps the original secret names (what istiod trusts today).
 */
export const KEY_SECRET_SUFFIX: Readonly<Record<TokenProfile, string>> = { istio: '', kuma: '-kuma' };

/** `<prefix>/signing-keys[-kuma]`: the profile's private key set. */
export function signingKeysSecretName(prefix: string, profile: TokenProfile): string {
  return `${prefix}/signing-keys${KEY_SECRET_SUFFIX[profile]}`;
}

/** `<prefix>/jwks[-kuma]`: the profile's public keys. */
export function jwksSecretName(prefix: string, profile: TokenProfile): string {
  return `${prefix}/jwks${KEY_SECRET_SUFFIX[profile]}`;
}

type KeySettings = Settings<'TOKEN_SECRET_PREFIX' | 'SIGNING_ALG' | 'KEY_CACHE_SECONDS' | 'KEY_PREPUBLISH_SECONDS' | 'DATA_PLANE_TOKEN_LIFETIME_SECONDS' | 'ONBOARDING_TOKEN_LIFETIME_SECONDS'>;

/** Kuma and Kong Mesh verify data-plane tokens with RSA keys only (RS256). */
function algFor(config: Pick<KeySettings, 'SIGNING_ALG'>, profile: TokenProfile): SigningAlg {
  return profile === 'kuma' ? 'RS256' : config.SIGNING_ALG;
}

/**
 * One profile's signing keys from config. A retired key stays published for the longest token
 * lifetime plus the key cache time after its successor signs: a Lambda may sign with its cached
 * old key that long.
 */
export function createKeyStore(config: KeySettings, secrets: SecretsManagerClient, profile: TokenProfile = 'istio', clock: () => number = Date.now): SecretsManagerKeyStore {
  return new SecretsManagerKeyStore(secrets, {
    secretName: signingKeysSecretName(config.TOKEN_SECRET_PREFIX, profile),
    alg: algFor(config, profile),
    cacheSeconds: config.KEY_CACHE_SECONDS,
    retireAfterSeconds: retirementDelaySeconds([config.DATA_PLANE_TOKEN_LIFETIME_SECONDS, config.ONBOARDING_TOKEN_LIFETIME_SECONDS], config.KEY_CACHE_SECONDS),
    prepublishSeconds: config.KEY_PREPUBLISH_SECONDS,
    jwks: createJwks(config, secrets, 0, profile, clock),
  }, clock);
}

/** Every profile's key store, one per container. */
export function createKeyStores(config: KeySettings, secrets: SecretsManagerClient): Record<TokenProfile, SecretsManagerKeyStore> {
  return Object.fromEntries(TOKEN_PROFILES.map((p) => [p, createKeyStore(config, secrets, p)])) as Record<TokenProfile, SecretsManagerKeyStore>;
}

/** A profile's public keys' secret: all discovery (istio) and the keys listing read. */
export function createJwks(config: Settings<'TOKEN_SECRET_PREFIX'>, secrets: SecretsManagerClient, cacheSeconds = 0, profile: TokenProfile = 'istio', clock: () => number = Date.now): SecretsManagerJwks {
  return new SecretsManagerJwks(secrets, jwksSecretName(config.TOKEN_SECRET_PREFIX, profile), cacheSeconds, clock);
}
