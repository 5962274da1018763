/** `If-Match` / `If-None-Match` for the policy routes; the ETag is the quoted revision. */
import type { Preconditions } from '../../shared/app/manage-policies.js';
import { header } from '../http/responses.js';

export const etagOf = (revision: number) => `"${revision}"`;

export type ParsedPreconditions = { ok: true; value: Preconditions } | { ok: false; message: string };

const ETAG = /^(?:W\/)?"?(\d{1,15})"?$/;

export function readPreconditions(headers: Record<string, string | undefined> | undefined, allowIfNoneMatch: boolean): ParsedPreconditions {
  const ifMatch = header(headers, 'if-match')?.trim();
  const ifNoneMatch = header(headers, 'if-none-match')?.trim();
  const value: Preconditions = {};
  if (ifMatch !== undefined) {
    const revision = ETAG.exec(ifMatch)?.[1];
    if (ifMatch === '*') value.ifMatch = '*';
    else if (revision !== undefined) value.ifMatch = Number(revision);
    else return { ok: false, message: `If-Match must be one ETag as returned by a read ("<revision>") or *, not ${JSON.stringify(ifMatch.slice(0, 80))}` };
  }
  if (ifNoneMatch !== undefined) {
    if (!allowIfNoneMatch || ifNoneMatch !== '*') return { ok: false, message: 'If-None-Match is supported only as `*` on PUT (create only)' };
    value.ifNoneMatch = '*';
  }
  if (value.ifMatch !== undefined && value.ifNoneMatch !== undefined) return { ok: false, message: 'send either If-Match or If-None-Match, not both' };
  return { ok: true, value };
}
