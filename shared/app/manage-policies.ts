/**
 * The policy API's use cases (docs/architecture.md#policy-api): optimistic concurrency on the policy's revision,
 * no-op writes detected (so `apply` of an unchanged file leaves no audit entry), and every
 * change written with its audit entry.
 */
import { isDeepStrictEqual } from 'node:util';
import type { OnboardingPolicy } from '../core/schemas.js';
import { PolicyConflictError } from '../errors.js';
import type { PolicyAdminStore, PolicyRecord } from '../ports.js';

/** `If-Match` (a revision, or `*` for "exists") and `If-None-Match: *` ("create only"). */
export interface Preconditions {
  ifMatch?: number | '*';
  ifNoneMatch?: '*';
}

export type PutPolicyOutcome =
  | { outcome: 'written'; change: 'created' | 'updated' | 'unchanged'; record: PolicyRecord }
  | { outcome: 'precondition-failed'; currentRevision: number | undefined; detail: string }
  | { outcome: 'conflict'; detail: string };

export type DeletePolicyOutcome =
  | { outcome: 'deleted'; revision: number }
  | { outcome: 'not-found' }
  | { outcome: 'precondition-failed'; currentRevision: number | undefined; detail: string }
  | { outcome: 'conflict'; detail: string };

export interface PolicyChangeRequest {
  namespace: string;
  name: string;
  preconditions: Preconditions;
  actor: string;
  now: Date;
}

export async function putPolicy(store: PolicyAdminStore, request: PolicyChangeRequest & { policy: OnboardingPolicy }): Promise<PutPolicyOutcome> {
  const { namespace, name, policy, preconditions, actor, now } = request;
  const current = await store.get(namespace, name);
  const failed = checkPreconditions(current, preconditions);
  if (failed) return failed;
  if (current && isDeepStrictEqual(current.document, policy)) return { outcome: 'written', change: 'unchanged', record: current };
  try {
    const revision = await store.write({ namespace, name, expected: current?.revision ?? 'absent', before: current?.document ?? null, after: policy, actor, at: now });
    return {
      outcome: 'written',
      change: current ? 'updated' : 'created',
      record: { namespace, name, revision, updatedAt: now.toISOString(), updatedBy: actor, stored: { valid: true, name, revision, policy }, document: policy },
    };
  } catch (error) {
    return lostRace(error, store, namespace, name, preconditions);
  }
}

export async function deletePolicy(store: PolicyAdminStore, request: PolicyChangeRequest): Promise<DeletePolicyOutcome> {
  const { namespace, name, preconditions, actor, now } = request;
  const current = await store.get(namespace, name);
  if (!current && preconditions.ifMatch === undefined) return { outcome: 'not-found' };
  const failed = checkPreconditions(current, preconditions);
  if (failed) return failed;
  if (!current) return { outcome: 'not-found' };
  try {
    return { outcome: 'deleted', revision: await store.write({ namespace, name, expected: current.revision, before: current.document, after: null, actor, at: now }) };
  } catch (error) {
    return lostRace(error, store, namespace, name, preconditions);
  }
}

function checkPreconditions(current: PolicyRecord | undefined, { ifMatch, ifNoneMatch }: Preconditions): { outcome: 'precondition-failed'; currentRevision: number | undefined; detail: string } | undefined {
  const fail = (detail: string) => ({ outcome: 'precondition-failed' as const, currentRevision: current?.revision, detail });
  if (ifNoneMatch === '*' && current) return fail(`policy already exists at revision ${current.revision} (If-None-Match: * creates only)`);
  if (ifMatch === '*' && !current) return fail('policy does not exist (If-Match: * updates only)');
  if (typeof ifMatch === 'number' && current?.revision !== ifMatch)
    return fail(current ? `policy is at revision ${current.revision}, not ${ifMatch}: read it again and re-apply` : `policy does not exist (If-Match: "${ifMatch}")`);
  return undefined;
}

/** Someone else wrote between our read and our conditional write. */
async function lostRace(error: unknown, store: PolicyAdminStore, namespace: string, name: string, preconditions: Preconditions): Promise<{ outcome: 'precondition-failed'; currentRevision: number | undefined; detail: string } | { outcome: 'conflict'; detail: string }> {
  if (!(error instanceof PolicyConflictError)) throw error;
  const now = await store.get(namespace, name);
  const detail = `policy changed while this request was applied (now ${now ? `revision ${now.revision}` : 'deleted'})`;
  // Without a precondition the caller asked for "whatever is there": tell them to retry.
  if (preconditions.ifMatch === undefined && preconditions.ifNoneMatch === undefined) return { outcome: 'conflict', detail: `${detail}; retry` };
  return { outcome: 'precondition-failed', currentRevision: now?.revision, detail };
}
