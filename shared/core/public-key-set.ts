/**
 * The public half of the key set, kept in its own secret `<prefix>/jwks` so that discovery
 * serves the JWKS without ever reading a private key (docs/architecture.md#tokens: the private key never leaves
 * the Lambdas that sign). Signers publish it from the private set before they sign with a key.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import { activeKey, isRetired, toPublicJwk, type KeySet } from './signing-keys.js';
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
  activeKid: z.string().check(z.minLength(1)),
  /** When the active key was made: orders sets, so an older one never replaces a newer one. */
  activeCreatedAt: z.iso.datetime(),
  keys: z.array(z.object({ jwk: PublicJwkSchema, retiresAt: z.optional(z.iso.datetime()) })),
});
export type PublicKeySet = z.infer<typeof PublicKeySetSchema>;

/** The public view of a key set: every key's public members and retirement time. */
export function toPublicKeySet(set: KeySet): PublicKeySet {
  return {
    activeKid: set.activeKid,
    activeCreatedAt: activeKey(set).createdAt,
    keys: set.keys.map((k) => ({ jwk: toPublicJwk(k), ...(k.retiresAt ? { retiresAt: k.retiresAt } : {}) })),
  };
}

/** The JWKS at `now`: the active key and retired keys whose tokens may still be live. */
export function publicKeysAt(set: PublicKeySet, now: Date): PublicJwk[] {
  return set.keys.filter((k) => k.jwk.kid === set.activeKid || !isRetired(k, now)).map((k) => k.jwk);
}

/**
 * Whether `next` should replace what is published. Only a newer active key does: a set with
 * the same active key differs at most by keys pruned after expiry, which publicKeysAt already
 * hides, and a signer holding an older set must never take a newer key off the JWKS.
 */
export function supersedes(next: PublicKeySet, published: PublicKeySet | undefined): boolean {
  return !published || Date.parse(next.activeCreatedAt) > Date.parse(published.activeCreatedAt);
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
