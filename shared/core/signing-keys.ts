/**
 * One claim profile's signing keys (docs/architecture.md#tokens), kept as one JSON document in its own secret.
 * A key goes through three states, all decided by its times so no write is needed to move on:
 *
 *   pending   published, not signing yet      now < activatesAt
 *   active    the one key that signs           the newest key whose activatesAt has passed
 *   retiring  published, no longer signing    replaced; pruned once retiresAt has passed
 *
 * A rotation adds a pending key that signs only `prepublishSeconds` later, so every verifier has
 * had the time to fetch it (istiod's JWKS refresh, HTTP caches, or an operator rolling Kuma's
 * CP config) before the first token signed with it exists.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import type { PublicJwk } from './tokens.js';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const KEY_STATES = ['pending', 'active', 'retiring'] as const;
export type KeyState = (typeof KEY_STATES)[number];

// Only these members of a public key are ever published: an allow-list, so a private member
// (d, p, q, dp, dq, qi) stored by mistake in `publicJwk` still never leaves the control plane.
const PUBLIC_MEMBERS = ['n', 'e', 'crv', 'x', 'y'] as const;

const jwk = z.looseObject({ kty: z.enum(['RSA', 'EC']) });

export const SigningKeySchema = z.object({
  /** RFC 7638 thumbprint of the public key. */
  kid: z.string().check(z.minLength(1)),
  alg: z.enum(SIGNING_ALGS),
  createdAt: z.iso.datetime(),
  /** When it starts signing; absent in sets written before pending keys existed (= createdAt). */
  activatesAt: z.optional(z.iso.datetime()),
  privateJwk: jwk,
  publicJwk: jwk,
  /** Set when a successor is added: published until then and pruned after. */
  retiresAt: z.optional(z.iso.datetime()),
});
export type SigningKey = z.infer<typeof SigningKeySchema>;

export const KeySetSchema = z
  .object({
    /** Written by earlier versions, which had no pending keys; the times say the same, so it is ignored. */
    activeKid: z.optional(z.string()),
    keys: z.array(SigningKeySchema).check(z.minLength(1)),
  })
  .check(
    z.superRefine((set, ctx) => {
      if (new Set(set.keys.map((k) => k.kid)).size !== set.keys.length) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'kids must be unique' });
    }),
  );
export type KeySet = { keys: SigningKey[] };

/** What decides a key's state: the same on the private set and on its published public view. */
export interface KeyTimes {
  kid: string;
  createdAt?: string;
  activatesAt?: string;
  retiresAt?: string;
}

/** Durations a rotation needs, in seconds. */
export interface RotationTimes {
  /** How long a new key is published before it signs (KEY_PREPUBLISH_SECONDS). */
  prepublishSeconds: number;
  /** How long a replaced key stays published once its successor signs: see retirementDelaySeconds. */
  retireAfterSeconds: number;
  /** Key compromise: the new key signs at once and keys that never signed are dropped. */
  emergency?: boolean;
}

/** What a rotation or prune did, by kid only (never key material). */
export interface KeySetChange {
  /** created: first key (signs at once); rotated: a successor was added; unchanged: one is already pending; revoked: see revokeKey. */
  outcome: 'created' | 'rotated' | 'pruned' | 'unchanged' | 'superseded' | 'revoked';
  activeKid: string;
  /** The key that will sign next, and from when. */
  pendingKid?: string;
  activatesAt?: string;
  /** Keys that no longer sign but are still published. */
  retiredKids: string[];
  prunedKids: string[];
  /** Keys taken off before their retirement (a revocation, or an emergency rotation on a full set). */
  revoked?: RevokedKey[];
}

/** A key withdrawn before its time: tokens signed with it stop verifying once verifiers refetch the JWKS. */
export interface RevokedKey {
  kid: string;
  /** Whether it ever signed: a pending key never did, so no token stops verifying. */
  signed: boolean;
  /** When its last tokens would have stopped verifying without the revocation (its retirement). */
  tokensWouldVerifyUntil?: string;
}

/**
 * Secrets Manager refuses a SecretString over 65,536 bytes ("Secret value size" in AWS's Secrets
 * Manager quotas, https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html;
 * "Maximum length of 65536" in the API reference). An RS256 key takes about 2.2 KB of it, so
 * about 29 keys fit.
 */
export const MAX_KEY_SET_BYTES = 65_536;

/** The bytes the set takes as the secret's value. */
export function keySetBytes(set: KeySet): number {
  return new TextEncoder().encode(JSON.stringify(set)).length;
}

/**
 * Makes the set fit `maxBytes` by revoking its retiring keys, the oldest first: only an emergency
 * rotation does this (it must not fail on a set that earlier emergencies filled, and the keys it
 * drops were replaced, most likely as compromised too). Never drops the signing key or a pending one.
 */
export function fitKeySet(set: KeySet, now: Date, maxBytes = MAX_KEY_SET_BYTES): { set: KeySet; revoked: RevokedKey[] } {
  const retiring = keyStates(set.keys, now)
    .filter((s) => s.state === 'retiring')
    .map((s) => s.key)
    .sort((a, b) => activationTime(a) - activationTime(b));
  let keys = set.keys;
  const revoked: RevokedKey[] = [];
  for (const oldest of retiring) {
    if (keySetBytes({ keys }) <= maxBytes) break;
    keys = keys.filter((k) => k !== oldest);
    revoked.push(revocationOf(oldest, true));
  }
  return { set: { keys }, revoked };
}

export type Revocation =
  | { ok: true; set: KeySet; revoked: RevokedKey }
  | { ok: false; reason: 'KEY_NOT_FOUND' | 'KEY_SIGNING'; message: string };

/**
 * Withdraws `kid` now: it retires at `now`, so the public set no longer lists it and it is pruned
 * at the next write. The key that signs is refused: withdrawing it would leave no key to sign
 * with, or promote a pending key before verifiers had it; an emergency rotation replaces it first.
 */
export function revokeKey(set: KeySet, kid: string, now: Date): Revocation {
  const state = keyStates(set.keys, now).find((s) => s.key.kid === kid);
  if (!state) return { ok: false, reason: 'KEY_NOT_FOUND', message: `no published key ${kid} (never created, or already retired)` };
  if (state.state === 'active')
    return { ok: false, reason: 'KEY_SIGNING', message: `key ${kid} signs now: run \`keys rotate --emergency\` first (its successor signs at once), then revoke ${kid}` };
  const revokedAt = now.toISOString();
  return {
    ok: true,
    set: { keys: set.keys.map((k) => (k === state.key ? { ...k, retiresAt: revokedAt } : k)) },
    revoked: revocationOf(state.key, state.state === 'retiring'),
  };
}

function revocationOf(key: SigningKey, signed: boolean): RevokedKey {
  return { kid: key.kid, signed, ...(signed && key.retiresAt ? { tokensWouldVerifyUntil: key.retiresAt } : {}) };
}

/** Reads a stored key set; `detail` names fields only, never a value (it may be key material). */
export function parseKeySet(text: string): { ok: true; value: KeySet } | { ok: false; detail: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, detail: 'not JSON' };
  }
  const result = KeySetSchema.safeParse(json);
  if (result.success) return { ok: true, value: { keys: result.data.keys } };
  return { ok: false, detail: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`).join('; ') };
}

/**
 * A key set holding only `key`, which signs at once. On a new stack no verifier can hold any key
 * of ours yet, so waiting would delay the first token without making any token verifiable sooner;
 * the key is published before it signs all the same (the store does that).
 */
export function newKeySet(key: SigningKey): KeySet {
  return { keys: [{ ...withoutTimes(key), activatesAt: key.createdAt }] };
}

/** When a key signs from. */
export function activationTime(key: KeyTimes): number {
  return Date.parse(key.activatesAt ?? key.createdAt ?? '');
}

/**
 * The key that signs at `now`: the newest one activated and not retired. When none has activated
 * yet, the earliest key signs: `now` is then behind the clock that wrote the set (a first key
 * created a few ms "later" by the container that won its creation), and the earliest key has no
 * predecessor to roll from, since a successor is added only while the key it succeeds is in the
 * set, and the signing key is never pruned. A later key therefore never signs before its
 * `activatesAt`. `undefined` only for a set whose keys have all retired.
 */
export function signingKeyAt<K extends KeyTimes>(keys: readonly K[], now: Date): K | undefined {
  let best: K | undefined;
  let earliest: K | undefined;
  for (const key of keys) {
    if (isRetired(key, now)) continue;
    if (!earliest || activationTime(key) < activationTime(earliest)) earliest = key;
    if (activationTime(key) > now.getTime()) continue;
    if (!best || activationTime(key) > activationTime(best)) best = key;
  }
  return best ?? earliest;
}

/** The state of each published key at `now`; retired keys are left out. */
export function keyStates<K extends KeyTimes>(keys: readonly K[], now: Date): { key: K; state: KeyState }[] {
  const signing = signingKeyAt(keys, now);
  return keys
    .filter((k) => !isRetired(k, now))
    .map((key) => ({ key, state: key === signing ? 'active' : activationTime(key) > now.getTime() ? 'pending' : 'retiring' }));
}

/** The pending key, if a rotation is waiting for its activation. */
export function pendingKeyAt<K extends KeyTimes>(keys: readonly K[], now: Date): K | undefined {
  return keyStates(keys, now).find((s) => s.state === 'pending')?.key;
}

/**
 * Adds `newKey` as the successor. It signs `prepublishSeconds` from `now` (at once in an
 * emergency); the key signing now retires `retireAfterSeconds` after that, so every token it
 * signed until then, from any container's cache, stays verifiable until it expires.
 * A rotation while a key is already pending changes nothing: schedules and retries never stack
 * keys, and the pending key's clock is not reset. An emergency drops the pending keys, which
 * never signed, along with their trust in a possibly compromised store (never the signing key,
 * even a first key that signs at a clock behind its activation: see signingKeyAt).
 */
export function rotateKeySet(set: KeySet, newKey: SigningKey, now: Date, times: RotationTimes): { set: KeySet; rotated: boolean } {
  if (set.keys.some((k) => k.kid === newKey.kid)) throw new Error(`key ${newKey.kid} is already in the set`);
  if (!times.emergency && pendingKeyAt(set.keys, now)) return { set, rotated: false };
  const signing = signingKeyAt(set.keys, now);
  const kept = times.emergency ? set.keys.filter((k) => k === signing || activationTime(k) <= now.getTime()) : set.keys;
  const activatesAt = now.getTime() + (times.emergency ? 0 : times.prepublishSeconds * 1000);
  const retiresAt = new Date(activatesAt + times.retireAfterSeconds * 1000).toISOString();
  const keys = kept.map((k) => (k === signing ? { ...k, retiresAt } : k));
  // Each key is strictly newer than every other, even within one clock tick: the published
  // JWKS is ordered by it (see supersedes in public-key-set.ts).
  const newest = Math.max(...set.keys.map((k) => Date.parse(k.createdAt)));
  const createdAt = Math.max(Date.parse(newKey.createdAt), newest + 1);
  const added = { ...withoutTimes(newKey), createdAt: new Date(createdAt).toISOString(), activatesAt: new Date(Math.max(activatesAt, createdAt)).toISOString() };
  return { set: { keys: [added, ...keys] }, rotated: true };
}

/** Drops keys whose `retiresAt` has passed; the signing key is always kept. */
export function pruneKeySet(set: KeySet, now: Date): KeySet {
  const signing = signingKeyAt(set.keys, now);
  return { keys: set.keys.filter((k) => k === signing || !isRetired(k, now)) };
}

/** How long a replaced key stays published: a token's whole life after the last signer let go of the key. */
export function retirementDelaySeconds(tokenLifetimesSeconds: number[], keyCacheSeconds: number): number {
  return Math.max(0, ...tokenLifetimesSeconds) + keyCacheSeconds;
}

/** Whether a retired key's tokens have all expired. */
export function isRetired(key: Pick<KeyTimes, 'retiresAt'>, now: Date): boolean {
  return key.retiresAt !== undefined && Date.parse(key.retiresAt) <= now.getTime();
}

/** The change's summary at `now`: kids and times only. */
export function summarize(set: KeySet, now: Date, outcome: KeySetChange['outcome'], prunedKids: string[] = []): KeySetChange {
  const states = keyStates(set.keys, now);
  const pending = states.find((s) => s.state === 'pending')?.key;
  return {
    outcome,
    activeKid: signingKeyAt(set.keys, now)?.kid ?? '',
    ...(pending ? { pendingKid: pending.kid, activatesAt: pending.activatesAt ?? pending.createdAt } : {}),
    retiredKids: states.filter((s) => s.state === 'retiring').map((s) => s.key.kid),
    prunedKids,
  };
}

/** The JWKS at `now`: pending, active and retiring keys, public members only. */
export function publishedKeys(set: KeySet, now: Date): PublicJwk[] {
  return keyStates(set.keys, now).map((s) => toPublicJwk(s.key));
}

/** A key's public members only (see PUBLIC_MEMBERS). */
export function toPublicJwk(key: SigningKey): PublicJwk {
  const published: PublicJwk = { kty: key.publicJwk.kty, kid: key.kid, alg: key.alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS) {
    const value = key.publicJwk[member];
    if (typeof value === 'string') published[member] = value;
  }
  return published;
}

function withoutTimes(key: SigningKey): SigningKey {
  const { retiresAt: _retires, activatesAt: _activates, ...rest } = key;
  return rest;
}
