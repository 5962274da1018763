/**
 * One issuer for several deployments (docs/multi-account.md#a-control-plane-per-account): the issuer
 * deployment's JWKS is its own keys plus the keys its peers publish. Each deployment keeps its own
 * private keys, so none can sign with another's, and istiod's one JWT_RULE trusts the union.
 *
 * A peer's JWKS is input from another account, over the network: only public RSA or EC keys of
 * the algorithms our istio profile signs with pass, each kid must be its key's RFC 7638 thumbprint
 * (our kids are), and a kid two sources claim is served for neither peer. Every refusal has a
 * reason code (PEER_JWKS_REFUSALS) that the discovery function logs.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import './zod-messages.js';
import type { PublicJwk } from './tokens.js';

/** Why a peer's document or one of its keys is not served. */
export const PEER_JWKS_REFUSALS = {
  /** The fetch failed or timed out, or answered other than 200: its last keys are kept (bounded). */
  PEER_JWKS_UNREACHABLE: 'PEER_JWKS_UNREACHABLE',
  /** Over MAX_PEER_JWKS_BYTES or MAX_PEER_KEYS: refused whole, its last keys are kept (bounded). */
  PEER_JWKS_TOO_LARGE: 'PEER_JWKS_TOO_LARGE',
  /** Not a JSON `{"keys": [...]}`: refused whole, its last keys are kept (bounded). */
  PEER_JWKS_INVALID: 'PEER_JWKS_INVALID',
  /** A key carries a private member (`d`, `p`, ...): the peer leaks keys; refused whole, its last keys are dropped. */
  PEER_JWKS_PRIVATE_KEY: 'PEER_JWKS_PRIVATE_KEY',
  /** One key is not a public RS256 or ES256 (P-256) signing key, or its kid is not its thumbprint: that key only. */
  PEER_KEY_REFUSED: 'PEER_KEY_REFUSED',
  /** The kid is also this deployment's or another peer's: the peer's key is not served. */
  PEER_KID_COLLISION: 'PEER_KID_COLLISION',
  /** No good answer from the peer for longer than the keep bound: its keys left the JWKS. */
  PEER_KEYS_EXPIRED: 'PEER_KEYS_EXPIRED',
} as const;
export type PeerJwksRefusal = (typeof PEER_JWKS_REFUSALS)[keyof typeof PEER_JWKS_REFUSALS];

/** A JWKS of ~29 keys (a full key set) is about 13 KB: 64 KiB leaves room and bounds what we hold per peer. */
export const MAX_PEER_JWKS_BYTES = 64 * 1024;
export const MAX_PEER_KEYS = 64;

/** JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2; `k` is a symmetric key). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const base64url = () => z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'));
const kid = () => z.string().check(z.minLength(1), z.maxLength(128));
// What our istio keys are (shared/core/signing-keys.ts): RS256 RSA keys, or ES256 on P-256.
const RsaKey = z.strictObject({ kty: z.literal('RSA'), kid: kid(), alg: z.literal('RS256'), use: z.optional(z.literal('sig')), n: base64url(), e: base64url() });
const EcKey = z.strictObject({ kty: z.literal('EC'), kid: kid(), alg: z.literal('ES256'), use: z.optional(z.literal('sig')), crv: z.literal('P-256'), x: base64url(), y: base64url() });
const PeerKey = z.union([RsaKey, EcKey]);

export type PeerJwksParse =
  | { ok: true; keys: PublicJwk[]; refusedKeys: { kid: string; reason: PeerJwksRefusal; message: string }[] }
  | { ok: false; reason: PeerJwksRefusal; message: string };

/** Reads a peer's JWKS document: its acceptable keys, and why each other key was refused. */
export function parsePeerJwks(text: string): PeerJwksParse {
  if (Buffer.byteLength(text) > MAX_PEER_JWKS_BYTES) return { ok: false, reason: 'PEER_JWKS_TOO_LARGE', message: `over ${MAX_PEER_JWKS_BYTES} bytes` };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'PEER_JWKS_INVALID', message: 'not JSON' };
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return { ok: false, reason: 'PEER_JWKS_INVALID', message: 'not a JWKS: no "keys" array' };
  if (keys.length > MAX_PEER_KEYS) return { ok: false, reason: 'PEER_JWKS_TOO_LARGE', message: `${keys.length} keys, more than ${MAX_PEER_KEYS}` };
  const leaking = keys.find((k) => typeof k === 'object' && k !== null && PRIVATE_MEMBERS.some((m) => m in k)) as Record<string, unknown> | undefined;
  if (leaking) return { ok: false, reason: 'PEER_JWKS_PRIVATE_KEY', message: `key ${String(leaking.kid)} has private members: the peer publishes private key material` };
  const accepted: PublicJwk[] = [];
  const refusedKeys: { kid: string; reason: PeerJwksRefusal; message: string }[] = [];
  for (const raw of keys) {
    const rawKid = String((raw as { kid?: unknown } | null)?.kid ?? '');
    const parsed = PeerKey.safeParse(raw);
    if (!parsed.success) {
      refusedKeys.push({ kid: rawKid, reason: 'PEER_KEY_REFUSED', message: `not a public RS256 or ES256 (P-256) signing key: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(key)'} ${i.message}`).join('; ')}` });
      continue;
    }
    const key = parsed.data;
    if (key.kid !== thumbprint(key)) {
      refusedKeys.push({ kid: key.kid, reason: 'PEER_KEY_REFUSED', message: 'its kid is not its RFC 7638 thumbprint' });
      continue;
    }
    accepted.push({ ...key, use: 'sig' });
  }
  return { ok: true, keys: accepted, refusedKeys };
}

/** RFC 7638's SHA-256 thumbprint, base64url: the kid our key stores give every key. */
export function thumbprint(key: Pick<PublicJwk, 'kty' | 'n' | 'e' | 'crv' | 'x' | 'y'>): string {
  const members = key.kty === 'RSA' ? { e: key.e, kty: key.kty, n: key.n } : { crv: key.crv, kty: key.kty, x: key.x, y: key.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** A peer's last good keys and when they were read. */
export interface PeerKeys {
  peer: string;
  keys: PublicJwk[];
  /** Epoch ms of the last good answer. */
  fetchedAt: number;
}

export interface AggregateRefusal {
  peer: string;
  reason: PeerJwksRefusal;
  kids: string[];
  message: string;
}

/**
 * The JWKS the issuer serves at `now`: its own keys, then each peer's keys read within `keepMs`.
 * A kid claimed by this deployment and a peer, or by two peers, is not served for any peer: the
 * key istiod would pick for it is ambiguous, and our kids are thumbprints, so only a copied or
 * forged key collides.
 */
export function aggregateJwks(own: readonly PublicJwk[], peers: readonly PeerKeys[], now: number, keepMs: number): { keys: PublicJwk[]; refusals: AggregateRefusal[] } {
  const refusals: AggregateRefusal[] = [];
  const live = peers.filter((p) => {
    if (now - p.fetchedAt <= keepMs) return true;
    if (p.keys.length > 0)
      refusals.push({ peer: p.peer, reason: 'PEER_KEYS_EXPIRED', kids: p.keys.map((k) => k.kid), message: `no good answer since ${new Date(p.fetchedAt).toISOString()}, longer than ${keepMs / 1000} s` });
    return false;
  });
  const claims = new Map<string, number>();
  for (const kid of [...own.map((k) => k.kid), ...live.flatMap((p) => [...new Set(p.keys.map((k) => k.kid))])]) claims.set(kid, (claims.get(kid) ?? 0) + 1);
  const keys = [...own];
  for (const p of live) {
    const colliding = p.keys.filter((k) => claims.get(k.kid)! > 1);
    if (colliding.length > 0) refusals.push({ peer: p.peer, reason: 'PEER_KID_COLLISION', kids: colliding.map((k) => k.kid), message: "kid also published by this deployment or another peer: not served for this peer" });
    const seen = new Set<string>();
    for (const k of p.keys) {
      if (claims.get(k.kid) !== 1 || seen.has(k.kid)) continue;
      seen.add(k.kid);
      keys.push(k);
    }
  }
  return { keys, refusals };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** PEER_JWKS_URLS: comma-separated `https://` URLs (`http://` to loopback only, for local runs); problems name each bad one. */
export function parsePeerJwksUrls(text: string): { urls: string[]; problems: string[] } {
  const entries = text.split(',').map((u) => u.trim()).filter(Boolean);
  const problems = entries.flatMap((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      return [`${entry} is not a URL`];
    }
    if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url.username || url.password ? [`${entry} must not hold credentials`] : [];
    return [`${entry} must be https (a peer's keys decide whose tokens verify)`];
  });
  if (new Set(entries).size !== entries.length) problems.push('a peer is listed twice');
  return { urls: [...new Set(entries)], problems };
}
