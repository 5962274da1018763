/**
 * The public half of a profile's key set, kept in its own secret (`<prefix>/jwks` for istio,
 * `<prefix>/jwks-kuma` for kuma) so that discovery and the keys listing never read a private key
 * (docs/architecture.md#tokens: the private key never leaves the Lambdas that sign). Signers publish it from the
 * private set before they sign with a key, and a rotation publishes its pending key at once.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import { activationTime, keyStates, type KeySet, type KeyState, toPublicJwk } from './signing-keys.js';
import type { PublicJwk } from './tokens.js';

// Strict: exactly the public members, so a private one (d, p, q, ...) cannot even be read back.
const PublicJwkSchema = z.strictObject({
  kty: z.string(),
  kid: z.string(),
  alg: z.string(),
  use: z.literal('sig'),
  n: z.optional(z.string()),
  e: z.optional(z.string()),
  crv: z.optional(z.string()),
  x: z.optional(z.string()),
  y: z.optional(z.string()),
});

export const PublicKeySetSchema = z.object({
  /** The newest key's creation: orders sets, so an older one never replaces a newer one. */
  newestCreatedAt: z.optional(z.iso.datetime()),
  /** What earlier versions wrote in its place (their newest key was the active one). */
  activeCreatedAt: z.optional(z.iso.datetime()),
  activeKid: z.optional(z.string()),
  keys: z.array(z.object({ jwk: PublicJwkSchema, activatesAt: z.optional(z.iso.datetime()), retiresAt: z.optional(z.iso.datetime()) })),
});
export type PublicKeySet = z.infer<typeof PublicKeySetSchema>;

/** One published key with its state, as `GET /v1/keys` lists it. */
export interface PublicKeyStatus {
  kid: string;
  alg: string;
  state: KeyState;
  activatesAt?: string;
  retiresAt?: string;
  jwk: PublicJwk;
}

/** The public view of a key set: every key's public members, activation and retirement times. */
export function toPublicKeySet(set: KeySet): PublicKeySet {
  const newest = Math.max(...set.keys.map((k) => Date.parse(k.createdAt)));
  return {
    newestCreatedAt: new Date(newest).toISOString(),
    keys: set.keys.map((k) => ({
      jwk: toPublicJwk(k),
      activatesAt: new Date(activationTime(k)).toISOString(),
      ...(k.retiresAt ? { retiresAt: k.retiresAt } : {}),
    })),
  };
}

/** The JWKS at `now`: pending, active and retiring keys; retired ones are gone. */
export function publicKeysAt(set: PublicKeySet, now: Date): PublicJwk[] {
  return statusesAt(set, now).map((s) => s.jwk);
}

/** Every published key with its state at `now`. */
export function statusesAt(set: PublicKeySet, now: Date): PublicKeyStatus[] {
  const times = set.keys.map((k) => ({ ...k, kid: k.jwk.kid, createdAt: legacyActivation(set, k) }));
  return keyStates(times, now).map(({ key, state }) => ({
    kid: key.kid,
    alg: key.jwk.alg,
    state,
    ...(key.activatesAt ? { activatesAt: key.activatesAt } : {}),
    ...(key.retiresAt ? { retiresAt: key.retiresAt } : {}),
    jwk: key.jwk,
  }));
}

/**
 * Whether `next` should replace what is published. A set with a newer key does; so does a set with
 * the same newest key that retires one of its keys earlier, which only a revocation does. Otherwise
 * a set with the same newest key differs at most by keys pruned after expiry, which publicKeysAt
 * already hides, and a signer holding an older set must never take a newer key off the JWKS, nor
 * put a revoked key back.
 */
export function supersedes(next: PublicKeySet, published: PublicKeySet | undefined): boolean {
  if (!published || version(next) > version(published)) return true;
  return version(next) === version(published) && retiresEarlier(next, published);
}

function retiresEarlier(next: PublicKeySet, published: PublicKeySet): boolean {
  const before = new Map(published.keys.map((k) => [k.jwk.kid, k.retiresAt]));
  return next.keys.some((k) => {
    if (!k.retiresAt || !before.has(k.jwk.kid)) return false;
    const was = before.get(k.jwk.kid);
    return was === undefined || Date.parse(k.retiresAt) < Date.parse(was);
  });
}

/** Reads the stored public set; `undefined` when it is not a valid one. */
export function parsePublicKeySet(text: string): PublicKeySet | undefined {
  try {
    const result = PublicKeySetSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

function version(set: PublicKeySet): number {
  return Date.parse(set.newestCreatedAt ?? set.activeCreatedAt ?? '') || 0;
}

// A set from before pending keys: its active key signs (since the epoch, as far as we know), and
// the keys it replaced are retiring; none is pending.
function legacyActivation(set: PublicKeySet, key: PublicKeySet['keys'][number]): string {
  if (key.activatesAt) return key.activatesAt;
  return key.jwk.kid === set.activeKid ? (set.activeCreatedAt ?? new Date(0).toISOString()) : new Date(0).toISOString();
}
