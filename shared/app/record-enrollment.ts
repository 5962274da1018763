import type { EnrollmentRecord } from '../core/enrollment.js';
import type { TaskStateChangeEvent } from '../core/task.js';
import { VersionConflictError } from '../errors.js';
import type { EnrollmentDeps } from './deps.js';

type RecordBase = Omit<EnrollmentRecord, 'phase' | 'reason' | 'detail'>;

/** The fields every record of this event carries; keeps what earlier events learned. */
export function recordBase(event: TaskStateChangeEvent, previous: EnrollmentRecord | undefined, now: Date): RecordBase {
  return {
    taskId: event.taskId,
    taskArn: event.taskArn,
    clusterArn: event.clusterArn,
    clusterName: event.clusterName,
    version: event.version,
    lastStatus: event.lastStatus,
    desiredStatus: event.desiredStatus,
    namespace: previous?.namespace,
    workloadGroup: previous?.workloadGroup,
    entryName: previous?.entryName,
    entryUid: previous?.entryUid,
    address: previous?.address ?? event.privateIpv4,
    roleArn: previous?.roleArn,
    updatedAt: now.toISOString(),
  };
}

/** Conditional write (throws VersionConflictError when a newer version is stored). */
export async function commitEnrollment(record: EnrollmentRecord, deps: Pick<EnrollmentDeps, 'enrollments' | 'log'>): Promise<void> {
  await deps.enrollments.put(record);
  deps.log.info('enrollment recorded', {
    taskId: record.taskId,
    version: record.version,
    phase: record.phase,
    reason: record.reason,
    detail: record.detail,
    ...(record.policy !== undefined ? { policy: record.policy, rule: record.rule } : {}),
  });
}

/**
 * The record a write lost to: the one the store returned with the refusal, else read. Callers ask
 * whether a stop won (a tombstone), to undo what they did to the mesh.
 */
export async function recordThatWon(error: VersionConflictError, taskId: string, deps: Pick<EnrollmentDeps, 'enrollments'>): Promise<EnrollmentRecord | undefined> {
  return (error.stored as EnrollmentRecord | undefined) ?? (await deps.enrollments.get(taskId));
}

/** Writes the record; losing to a newer version is fine for steps with nothing to undo. */
export async function commitOrYield(record: EnrollmentRecord, deps: Pick<EnrollmentDeps, 'enrollments' | 'log'>): Promise<EnrollmentRecord | undefined> {
  try {
    await commitEnrollment(record, deps);
    return record;
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
    deps.log.info('a newer event was applied first', { taskId: record.taskId, version: record.version });
    return undefined;
  }
}
