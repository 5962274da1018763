/**
 * The control plane's signing keys (docs/architecture.md#tokens), kept as one JSON document in the secret
 * `<prefix>/signing-keys`. One key signs; keys it replaced stay published until every token
 * they may have signed has expired, then they are pruned.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import type { PublicJwk } from './tokens.js';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

// Only these members of a public key are ever published: an allow-list, so a private member
// (d, p, q, dp, dq, qi) stored by mistake in `publicJwk` still never leaves the control plane.
const PUBLIC_MEMBERS = ['n', 'e', 'crv', 'x', 'y'] as const;

const jwk = z.looseObject({ kty: z.enum(['RSA', 'EC']) });

export const SigningKeySchema = z.object({
  /** RFC 7638 thumbprint of the public key. */
  kid: z.string().check(z.minLength(1)),
  alg: z.enum(SIGNING_ALGS),
  createdAt: z.iso.datetime(),
  privateJwk: jwk,
  publicJwk: jwk,
  /** Set when the key stops signing: it is published until then and pruned after. */
  retiresAt: z.optional(z.iso.datetime()),
});
export type SigningKey = z.infer<typeof SigningKeySchema>;

export const KeySetSchema = z
  .object({ activeKid: z.string().check(z.minLength(1)), keys: z.array(SigningKeySchema).check(z.minLength(1)) })
  .check(
    z.superRefine((set, ctx) => {
      if (!set.keys.some((k) => k.kid === set.activeKid)) ctx.addIssue({ code: 'custom', path: ['activeKid'], message: 'names no key of the set' });
      if (new Set(set.keys.map((k) => k.kid)).size !== set.keys.length) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'kids must be unique' });
    }),
  );
export type KeySet = z.infer<typeof KeySetSchema>;

/** What a rotation or prune did; `retiredKids` no longer sign but are still published. */
export interface KeySetChange {
  outcome: 'created' | 'rotated' | 'pruned' | 'unchanged' | 'superseded';
  activeKid: string;
  retiredKids: string[];
  prunedKids: string[];
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
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, detail: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`).join('; ') };
}

/** A key set holding only `key`, which signs. */
export function newKeySet(key: SigningKey): KeySet {
  return { activeKid: key.kid, keys: [key] };
}

/** The key that signs new tokens. */
export function activeKey(set: KeySet): SigningKey {
  const key = set.keys.find((k) => k.kid === set.activeKid);
  // KeySetSchema guarantees it; a set built by hand without it is a programming error.
  if (!key) throw new Error(`key set has no active key ${set.activeKid}`);
  return key;
}

/**
 * Makes `newKey` the signing key. The previous one retires `retireAfterSeconds` from `now`:
 * pass the longest token lifetime plus the signers' key cache time, because a Lambda may keep
 * signing with its cached previous key until its cache expires, and every token signed so must
 * stay verifiable until it expires.
 */
export function rotateKeySet(set: KeySet, newKey: SigningKey, now: Date, retireAfterSeconds: number): KeySet {
  if (set.keys.some((k) => k.kid === newKey.kid)) throw new Error(`key ${newKey.kid} is already in the set`);
  const retiresAt = new Date(now.getTime() + retireAfterSeconds * 1000).toISOString();
  const keys = set.keys.map((k) => (k.kid === set.activeKid ? { ...k, retiresAt } : k));
  // A key that becomes active signs until the next rotation: whatever retiresAt it came with goes.
  const { retiresAt: _ignored, ...active } = newKey;
  // Each active key is strictly newer than the one it replaces, even within one clock tick: the
  // published JWKS is ordered by it (see supersedes in public-key-set.ts).
  const previous = Date.parse(activeKey(set).createdAt);
  if (Date.parse(active.createdAt) <= previous) active.createdAt = new Date(previous + 1).toISOString();
  return { activeKid: newKey.kid, keys: [active, ...keys] };
}

/** Drops retired keys whose `retiresAt` has passed; the signing key is always kept. */
export function pruneKeySet(set: KeySet, now: Date): KeySet {
  return { ...set, keys: set.keys.filter((k) => k.kid === set.activeKid || !isRetired(k, now)) };
}

/** Kids of the keys that no longer sign but are still published. */
export function retiringKids(set: KeySet): string[] {
  return set.keys.filter((k) => k.kid !== set.activeKid).map((k) => k.kid);
}

/** The JWKS: the signing key and every retired key not yet past its `retiresAt`, public members only. */
export function publishedKeys(set: KeySet, now: Date): PublicJwk[] {
  return set.keys.filter((k) => k.kid === set.activeKid || !isRetired(k, now)).map(toPublicJwk);
}

/** How long a replaced key stays published: a token's whole life after the last signer let go of the key. */
export function retirementDelaySeconds(tokenLifetimesSeconds: number[], keyCacheSeconds: number): number {
  return Math.max(0, ...tokenLifetimesSeconds) + keyCacheSeconds;
}

/** Whether a retired key's tokens have all expired. */
export function isRetired(key: Pick<SigningKey, 'retiresAt'>, now: Date): boolean {
  return key.retiresAt !== undefined && Date.parse(key.retiresAt) <= now.getTime();
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
