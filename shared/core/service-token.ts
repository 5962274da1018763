/**
 * The stored per-service token document (docs/architecture.md#tokens): how it is read back, built and aged.
 * `ServiceTokenDocument` in tokens.ts stays the one source of the shape; the schema below is
 * checked against it at compile time.
 */
import * as z from 'zod/mini';
import './zod-messages.js';
import type { ObjectRef } from './kubernetes-types.js';
import { TOKEN_PROFILES, type ServiceTokenDocument, type SignedToken, type TokenProfile } from './tokens.js';

export const ServiceTokenDocumentSchema = z.strictObject({
  token: z.string().check(z.minLength(1)),
  expiresAt: z.iso.datetime(),
  issuedAt: z.iso.datetime(),
  kid: z.string().check(z.minLength(1)),
  profile: z.enum(TOKEN_PROFILES),
  workloadGroup: z.string().check(z.minLength(1)),
});

// Fails to compile when the schema and the interface drift apart, in either direction.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesType: Same<z.infer<typeof ServiceTokenDocumentSchema>, ServiceTokenDocument> = true;
void schemaMatchesType;

/** `<namespace>/<name>`: how a group is named in documents, tags and logs. */
export function groupKey(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Parses a stored document; `undefined` when it is not valid JSON, not our shape, or another group's. */
export function parseServiceTokenDocument(text: string | undefined, group: ObjectRef): ServiceTokenDocument | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = ServiceTokenDocumentSchema.safeParse(json);
  return result.success && result.data.workloadGroup === groupKey(group) ? result.data : undefined;
}

/** The document to store for a freshly signed token; times come from the token's own claims. */
export function serviceTokenDocument(signed: SignedToken, claims: { iat: number; exp: number }, profile: TokenProfile, group: ObjectRef): ServiceTokenDocument {
  return {
    token: signed.token,
    expiresAt: new Date(claims.exp * 1000).toISOString(),
    issuedAt: new Date(claims.iat * 1000).toISOString(),
    kid: signed.kid,
    profile,
    workloadGroup: groupKey(group),
  };
}

/**
 * True when the token must be minted again: missing, unreadable, expired, or with less than a
 * third of its lifetime left, so a sidecar that starts now still gets hours of validity.
 */
export function needsRefresh(document: Pick<ServiceTokenDocument, 'issuedAt' | 'expiresAt'> | undefined, now: Date): boolean {
  if (!document) return true;
  const issuedAt = Date.parse(document.issuedAt);
  const expiresAt = Date.parse(document.expiresAt);
  if (Number.isNaN(issuedAt) || Number.isNaN(expiresAt) || expiresAt <= issuedAt) return true;
  const left = expiresAt - now.getTime();
  return left <= 0 || left < (expiresAt - issuedAt) / 3;
}
