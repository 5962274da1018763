import { createHash } from 'node:crypto';

/**
 * Secrets Manager's idempotency token (32–64 characters), UUID-shaped and derived from the
 * version being replaced: everyone replacing one version sends the same token, so only the first
 * makes a new version (same token, other value: ResourceExistsException; same value, a retried
 * request: a no-op). `undefined` stands for "the secret does not exist yet".
 */
export function clientRequestToken(secretName: string, replacingVersionId: string | undefined): string {
  const hex = createHash('sha256').update(`${secretName}\0${replacingVersionId ?? '(create)'}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
