/**
 * What starts a reconcile pass, read from the trigger: the schedule (a full pass from the cursor),
 * a policy table stream record (that namespace now: revocation within seconds of a policy write),
 * an IAM CloudTrail event for a role (the tasks of that role), or the HTTP route (handled apart).
 */
import type { ReconcileOptions } from '../../shared/app/reconcile-tasks.js';

/** IAM calls that change what a task role's tags (or the role itself) allow. */
export const ROLE_CHANGING_CALLS: ReadonlySet<string> = new Set(['TagRole', 'UntagRole', 'DeleteRole', 'UpdateAssumeRolePolicy']);

type StreamRecord = { eventSource?: string; dynamodb?: { Keys?: { namespace?: { S?: string } } } };
type CloudTrailEvent = { source?: string; 'detail-type'?: string; detail?: { eventSource?: string; eventName?: string; requestParameters?: { roleName?: unknown } } };

/** The passes a non-HTTP trigger calls for (empty: nothing to do for this event). */
export function passesFor(event: unknown): ReconcileOptions[] {
  const records = (event as { Records?: StreamRecord[] }).Records;
  if (Array.isArray(records)) {
    const namespaces = new Set(records.filter((r) => r.eventSource === 'aws:dynamodb').map((r) => r.dynamodb?.Keys?.namespace?.S).filter((n): n is string => typeof n === 'string' && n.length > 0));
    return [...namespaces].map((namespace) => ({ namespace, useCursor: false }));
  }
  const trail = event as CloudTrailEvent;
  if (trail['detail-type'] === 'AWS API Call via CloudTrail' && trail.detail?.eventSource === 'iam.amazonaws.com') {
    // The name as the caller typed it: IAM role names ignore case, so the pass matches it that way (sameRoleName).
    const roleName = trail.detail.requestParameters?.roleName;
    return ROLE_CHANGING_CALLS.has(trail.detail.eventName ?? '') && typeof roleName === 'string' ? [{ roleName, useCursor: false }] : [];
  }
  // The schedule (or anything else EventBridge sends): a full pass, carrying on from the cursor.
  return [{ useCursor: true }];
}
