/**
 * One claim profile's signing keys in one Secrets Manager secret (`<prefix>/signing-keys` for
 * istio, `<prefix>/signing-keys-kuma` for kuma; docs/architecture.md#tokens). Every write names the version it
 * replaces (a ClientRequestToken derived from it), so concurrent writers that read the same
 * version make one new version and the others learn they lost.
 */
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose';
import type { PublishedKeys, TokenSigner } from '../ports.js';
import type { PublicJwk, SignedToken } from '../core/tokens.js';
import { ControlPlaneError } from '../errors.js';
import {
  fitKeySet, keySetBytes, MAX_KEY_SET_BYTES, newKeySet, parseKeySet, pruneKeySet, publishedKeys, revokeKey, rotateKeySet, signingKeyAt,
  SigningKeySchema, summarize, type KeySet, type KeySetChange, type SigningAlg, type SigningKey,
} from '../core/signing-keys.js';
import { ExpiringCache } from './expiring-cache.js';
import { toPublicKeySet, type PublicKeySet } from '../core/public-key-set.js';
import { errorName, translateAwsError } from './aws-errors.js';
import { clientRequestToken } from './client-request-token.js';

export interface SecretsManagerKeyStoreOptions {
  /** `<TOKEN_SECRET_PREFIX>/signing-keys`. */
  secretName: string;
  /** Algorithm of keys generated from now on; existing keys keep theirs. */
  alg: SigningAlg;
  /** How long the key set (private key included) stays in this container's memory. */
  cacheSeconds: number;
  /**
   * How long a signer trusts that its cached set is still the stored one before it asks again
   * (DescribeSecret, no key material): another container's emergency rotation or revocation
   * reaches every signer within this time, not `cacheSeconds`. 0 asks on every signing.
   */
  versionCheckSeconds?: number;
  /** How long a replaced key stays published once its successor signs: see `rotateKeySet`. */
  retireAfterSeconds: number;
  /** How long a rotated-in key is published before it signs (KEY_PREPUBLISH_SECONDS). */
  prepublishSeconds: number;
  /** Where the public keys are published before any token is signed with them. */
  jwks?: { publish(set: PublicKeySet): Promise<void> };
}

export const SIGNING_KEYS_TAGS = { 'ecsmesh.io/managed-by': 'ecs-mesh-onboarding', 'ecsmesh.io/kind': 'signing-keys' } as const;

interface Stored { set: KeySet; versionId: string }
type ImportedKey = Awaited<ReturnType<typeof importJWK>>;
/** A loaded set and its keys imported on first use (the signing key can change while cached). */
interface Loaded extends Stored { imported: Map<string, Promise<ImportedKey>> }

/** Thrown inside a load so that "no key set yet" is never cached (failed loads are not). */
class NoKeySetYet extends Error {}

const CACHE_KEY = 'signing-keys';
/** See SecretsManagerKeyStoreOptions.versionCheckSeconds. */
export const DEFAULT_VERSION_CHECK_SECONDS = 5;
/** Waits before each read of the key set another Lambda just created (see create). */
const LOST_CREATION_READ_DELAYS_MS = [0, 50, 200];

/** Signs with, publishes and rotates the key set kept in one Secrets Manager secret. */
export class SecretsManagerKeyStore implements TokenSigner, PublishedKeys {
  private readonly cache: ExpiringCache<Loaded>;
  /** Per stored version: whether it was still the current one when last asked (single-flight). */
  private readonly versionChecks: ExpiringCache<boolean>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: SecretsManagerKeyStoreOptions,
    clock: () => number = Date.now,
  ) {
    this.cache = new ExpiringCache<Loaded>(options.cacheSeconds * 1000, clock);
    this.versionChecks = new ExpiringCache<boolean>((options.versionCheckSeconds ?? DEFAULT_VERSION_CHECK_SECONDS) * 1000, clock);
  }

  /** Signs with the key active at `now` (never a pending one); the first signer ever creates the key set. */
  async sign(claims: Record<string, unknown>, now: Date): Promise<SignedToken> {
    const loaded = (await this.checked(now, true))!;
    const key = signingKeyAt(loaded.set.keys, now);
    // Only a hand-edited set can get here: the first key signs at once, even at a clock behind its
    // creator's (a signer that lost its creation race), and a successor only adds (see signingKeyAt).
    if (!key) throw new ControlPlaneError('SIGNING_KEYS_INVALID', `secret ${this.options.secretName} has no key that signs at ${now.toISOString()}`, { retryable: false });
    let imported = loaded.imported.get(key.kid);
    if (!imported) loaded.imported.set(key.kid, (imported = importJWK(key.privateJwk as JWK, key.alg)));
    const token = await new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(await imported);
    return { token, kid: key.kid, alg: key.alg };
  }

  /** Whether `kid` is published at `now`, as of the stored set (checked as signing checks it). */
  async publishes(kid: string, now: Date): Promise<boolean> {
    const loaded = await this.checked(now, false);
    return loaded !== undefined && publishedKeys(loaded.set, now).some((key) => key.kid === kid);
  }

  /** The published keys at `now`; empty until the first key exists (a public read never creates keys). */
  async publicKeys(now: Date): Promise<PublicJwk[]> {
    const loaded = await this.current(now, false);
    return loaded ? publishedKeys(loaded.set, now) : [];
  }

  /**
   * Adds a successor from a fresh read (never the cache), published at once: it signs
   * `prepublishSeconds` later, or at once with `emergency`. On a new stack it creates the first
   * key, which signs at once (see newKeySet). Keys past their retirement are pruned on the way.
   */
  async rotate(now: Date, options: { emergency?: boolean } = {}): Promise<KeySetChange> {
    const stored = await this.read();
    if (!stored) {
      const created = await this.create(now);
      // Published now, not when the first token is signed: verifiers can be configured first.
      await this.options.jwks?.publish(toPublicKeySet(created.set));
      return summarize(created.set, now, 'created');
    }
    const times = { prepublishSeconds: this.options.prepublishSeconds, retireAfterSeconds: this.options.retireAfterSeconds, emergency: options.emergency === true };
    const next = rotateKeySet(stored.set, await generateSigningKey(this.options.alg, now), now, times);
    const pruned = pruneKeySet(next.set, now);
    if (!next.rotated && pruned.keys.length === stored.set.keys.length) {
      await this.options.jwks?.publish(toPublicKeySet(stored.set));
      return summarize(stored.set, now, 'unchanged');
    }
    // The secret's value is bounded (MAX_KEY_SET_BYTES): an emergency makes room by revoking the
    // oldest replaced keys; any other rotation is refused before the write would fail.
    const fitted = times.emergency ? fitKeySet(pruned, now) : { set: pruned, revoked: [] };
    const bytes = keySetBytes(fitted.set);
    if (bytes > MAX_KEY_SET_BYTES)
      throw new ControlPlaneError(
        'SIGNING_KEYS_FULL',
        `secret ${this.options.secretName} would hold ${bytes} bytes with one more key, over Secrets Manager's ${MAX_KEY_SET_BYTES}: revoke retiring keys (keys revoke KID), wait for them to retire, or rotate with --emergency, which revokes the oldest`,
        { retryable: false },
      );
    const change = await this.replace(stored, fitted.set, next.rotated ? 'rotated' : 'pruned', now);
    return fitted.revoked.length > 0 && change.outcome !== 'superseded' ? { ...change, revoked: fitted.revoked } : change;
  }

  /**
   * Withdraws `kid` from the set and the JWKS now (see revokeKey): `undefined` when the profile has
   * no key set. Retries on a concurrent write, from a fresh read each time.
   */
  async revoke(kid: string, now: Date): Promise<KeySetChange | { refused: 'KEY_NOT_FOUND' | 'KEY_SIGNING'; message: string } | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = await this.read();
      if (!stored) return undefined;
      const revocation = revokeKey(stored.set, kid, now);
      if (!revocation.ok) return { refused: revocation.reason, message: revocation.message };
      const change = await this.replace(stored, revocation.set, 'revoked', now);
      if (change.outcome !== 'superseded') return { ...change, revoked: [revocation.revoked] };
    }
    throw new ControlPlaneError('SIGNING_KEYS_BUSY', `secret ${this.options.secretName} kept changing while revoking ${kid}: try again`);
  }

  /** Drops keys past their `retiresAt`; `undefined` when there is no key set yet. */
  async prune(now: Date): Promise<KeySetChange | undefined> {
    const stored = await this.read();
    if (!stored) return undefined;
    const pruned = pruneKeySet(stored.set, now);
    if (pruned.keys.length === stored.set.keys.length) return summarize(stored.set, now, 'unchanged');
    return this.replace(stored, pruned, 'pruned', now);
  }

  /**
   * The cached set, once DescribeSecret (at most every versionCheckSeconds) says it is still the
   * stored one: another container's rotation or revocation reaches this one within that time.
   */
  private async checked(now: Date, create: boolean): Promise<Loaded | undefined> {
    const loaded = await this.current(now, create);
    if (!loaded || (await this.versionChecks.getOrLoad(loaded.versionId, () => this.isCurrent(loaded.versionId)))) return loaded;
    // Another container rotated or revoked: use what is stored now, not what this one cached.
    this.cache.delete(CACHE_KEY);
    return this.current(now, create);
  }

  private async current(now: Date, create: boolean): Promise<Loaded | undefined> {
    try {
      return await this.cache.getOrLoad(CACHE_KEY, () => this.load(now, create));
    } catch (error) {
      if (!(error instanceof NoKeySetYet)) throw error;
      // A signer may have shared a read-only load that found nothing: it retries, creating.
      return create ? this.cache.getOrLoad(CACHE_KEY, () => this.load(now, true)) : undefined;
    }
  }

  private async load(now: Date, create: boolean): Promise<Loaded> {
    const stored = (await this.read()) ?? (create ? await this.create(now) : undefined);
    if (!stored) throw new NoKeySetYet();
    // Never sign with a key verifiers cannot find: publishing is a no-op when it is there already.
    await this.options.jwks?.publish(toPublicKeySet(stored.set));
    // Just read: current, so the first signings after a load ask nothing more.
    void this.versionChecks.getOrLoad(stored.versionId, () => Promise.resolve(true));
    return { ...stored, imported: new Map() };
  }

  /** Whether `versionId` is still the stored set's current version (DescribeSecret: no key material). */
  private async isCurrent(versionId: string): Promise<boolean> {
    const out = await this.client.send(new DescribeSecretCommand({ SecretId: this.options.secretName })).catch((error: unknown) => translateAwsError(error, 'DescribeSecret on the signing keys'));
    return out.VersionIdsToStages?.[versionId]?.includes('AWSCURRENT') === true;
  }

  private async read(): Promise<Stored | undefined> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.options.secretName })).catch((error: unknown) => {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      return translateAwsError(error, 'GetSecretValue on the signing keys');
    });
    if (!out) return undefined;
    const parsed = parseKeySet(out.SecretString ?? '');
    // The detail names fields, never values: the secret holds private keys.
    if (!parsed.ok) throw new ControlPlaneError('SIGNING_KEYS_INVALID', `secret ${this.options.secretName} holds no valid key set (${parsed.detail})`, { retryable: false });
    return { set: parsed.value, versionId: out.VersionId ?? '' };
  }

  private async create(now: Date): Promise<Stored> {
    const set = newKeySet(await generateSigningKey(this.options.alg, now));
    try {
      const out = await this.client.send(
        new CreateSecretCommand({
          Name: this.options.secretName,
          Description: 'ECS mesh onboarding: JWT signing keys (private and public JWKs)',
          SecretString: JSON.stringify(set),
          ClientRequestToken: clientRequestToken(this.options.secretName, undefined),
          Tags: Object.entries(SIGNING_KEYS_TAGS).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      return { set, versionId: out.VersionId ?? '' };
    } catch (error) {
      if (errorName(error) !== 'ResourceExistsException') return translateAwsError(error, 'CreateSecret for the signing keys');
      // Another Lambda created it first (same token, another key): use theirs, which a read just
      // after its creation may not find yet.
      for (const delayMs of LOST_CREATION_READ_DELAYS_MS) {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        const theirs = await this.read();
        if (theirs) return theirs;
      }
      throw error;
    }
  }

  private async replace(stored: Stored, next: KeySet, outcome: 'rotated' | 'pruned' | 'revoked', now: Date): Promise<KeySetChange> {
    const written = await this.put(next, stored.versionId);
    // This container signs with the new set from its next call on, not after its cache expires.
    this.cache.delete(CACHE_KEY);
    const current = written ? next : (await this.read())?.set;
    if (current) await this.options.jwks?.publish(toPublicKeySet(current));
    if (written) {
      const kept = new Set(next.keys.map((k) => k.kid));
      return summarize(next, now, outcome, stored.set.keys.map((k) => k.kid).filter((kid) => !kept.has(kid)));
    }
    return summarize(current ?? stored.set, now, 'superseded');
  }

  /** `false` when another writer replaced the same version first. */
  private async put(set: KeySet, replacingVersionId: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: this.options.secretName,
          SecretString: JSON.stringify(set),
          ClientRequestToken: clientRequestToken(this.options.secretName, replacingVersionId),
        }),
      );
      return true;
    } catch (error) {
      // Same token, other value: the token is this version's successor, already written by someone else.
      if (errorName(error) === 'ResourceExistsException') return false;
      return translateAwsError(error, 'PutSecretValue on the signing keys');
    }
  }
}

async function generateSigningKey(alg: SigningAlg, now: Date): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  return SigningKeySchema.parse({ kid: await calculateJwkThumbprint(publicJwk, 'sha256'), alg, createdAt: now.toISOString(), privateJwk, publicJwk });
}
