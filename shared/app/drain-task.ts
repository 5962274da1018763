/**
 * Removes a stopping task's WorkloadEntry at once (drain before the task dies), but only an
 * entry we wrote for this very task: a new task that reuses the IP has its own entry, and an
 * entry changed since we read it is left to the next event (delete preconditions).
 */
import { entryBelongsTo, MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_ID_LABEL } from '../core/workload-entry.js';
import { isTombstone, type EnrollmentRecord, type StopCheck } from '../core/enrollment.js';
import type { ObjectRef } from '../core/kubernetes-types.js';
import { REASONS } from '../core/reasons.js';
import type { TaskStateChangeEvent } from '../core/task.js';
import { MeshPreconditionError } from '../errors.js';
import type { EnrollmentDeps } from './deps.js';
import { commitOrYield, recordBase } from './record-enrollment.js';

/** Removes the entry and writes the tombstone (draining or deregistered). */
export async function drainTask(
  kind: 'drain' | 'deregister',
  event: TaskStateChangeEvent,
  previous: EnrollmentRecord | undefined,
  deps: EnrollmentDeps,
  now: Date,
): Promise<EnrollmentRecord | undefined> {
  const deleted = await removeTaskEntries(event, previous, deps);
  // Its entry is gone: the address is free for a task refused ADDRESS_IN_USE, which the reconciler's next pass enrolls.
  const address = previous?.address ?? event.privateIpv4;
  if (address !== undefined) await deps.addresses?.release({ network: previous?.network ?? '', address }, event.taskId);
  const stopped = kind === 'deregister';
  const record: EnrollmentRecord = {
    ...recordBase(event, previous, now),
    phase: stopped ? 'deregistered' : 'draining',
    reason: stopped ? REASONS.TASK_STOPPED : REASONS.TASK_STOPPING,
    detail: `${deleted.length ? `removed ${deleted.map((r) => `${r.namespace}/${r.name}`).join(', ')}` : 'no entry to remove'}${event.stoppedReason ? `; stopped: ${event.stoppedReason}` : ''}`,
    expiresAt: Math.floor(now.getTime() / 1000) + deps.tombstoneTtlSeconds,
  };
  deps.log.info(stopped ? 'task deregistered' : 'task draining', { taskId: event.taskId, version: event.version, removed: deleted });
  return commitOrYield(record, deps);
}

/**
 * A stop ECS contradicts (`checkStopAgainstEcs`) is not taken: the entry stays, and a live record
 * says why, with ECS's statuses, at the event's version (bounded by ECS's), so a replay of the
 * same event changes nothing. Without a live record there is nothing to keep: the task's next
 * event, or the reconciler, enrolls it.
 */
export function keepContradictedTask(
  event: TaskStateChangeEvent,
  previous: EnrollmentRecord | undefined,
  { ecs, detail }: Extract<StopCheck, { verdict: 'contradicted' }>,
  deps: EnrollmentDeps,
  now: Date,
): Promise<EnrollmentRecord | undefined> {
  deps.log.warn('stop event contradicted by ECS; not applied', { taskId: event.taskId, version: event.version, detail });
  if (!previous || isTombstone(previous.phase)) return Promise.resolve(undefined);
  // The decision the record held (why it is enrolled, or refused) is kept after the stop's story.
  const decided = previous.reason === REASONS.STOP_CONTRADICTED ? (previous.detail.split(KEPT)[1] ?? previous.detail) : `${previous.reason}: ${previous.detail}`;
  return commitOrYield({ ...previous, ...ecs, version: event.version, reason: REASONS.STOP_CONTRADICTED, detail: `${detail}${KEPT}${decided}`, updatedAt: now.toISOString() }, deps);
}

const KEPT = '; record kept as decided before: ';

/** Deletes every entry of the task; returns the refs actually deleted. */
export async function removeTaskEntries(
  task: { taskId: string; taskArn: string },
  previous: Pick<EnrollmentRecord, 'entryName' | 'namespace'> | undefined,
  deps: Pick<EnrollmentDeps, 'mesh' | 'log' | 'deployment'>,
): Promise<ObjectRef[]> {
  const refs = await entryRefs(task, previous, deps);
  const deleted: ObjectRef[] = [];
  for (const ref of refs) {
    if (await deleteIfOurs(ref, task.taskArn, deps)) deleted.push(ref);
  }
  return deleted;
}

async function entryRefs(
  task: { taskId: string },
  previous: Pick<EnrollmentRecord, 'entryName' | 'namespace'> | undefined,
  deps: Pick<EnrollmentDeps, 'mesh'>,
): Promise<ObjectRef[]> {
  if (previous?.entryName && previous.namespace) return [{ namespace: previous.namespace, name: previous.entryName }];
  // No record of an entry (e.g. STOPPED processed before RUNNING's record was written):
  // find any entry labelled with this task across namespaces.
  const found = await deps.mesh.listWorkloadEntries({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TASK_ID_LABEL]: task.taskId.toLowerCase() });
  return found.map((e) => ({ namespace: e.metadata.namespace, name: e.metadata.name }));
}

async function deleteIfOurs(ref: ObjectRef, taskArn: string, deps: Pick<EnrollmentDeps, 'mesh' | 'log' | 'deployment'>): Promise<boolean> {
  // Two attempts: our own concurrent apply of an older event may bump the resourceVersion.
  for (let attempt = 0; attempt < 2; attempt++) {
    const entry = await deps.mesh.getWorkloadEntry(ref);
    if (!entry) return false;
    if (!entryBelongsTo(entry, taskArn, deps.deployment)) {
      deps.log.warn('entry not deleted: it belongs to another task or is not ours', { entry: ref, taskArn });
      return false;
    }
    try {
      return await deps.mesh.deleteWorkloadEntry(ref, { uid: entry.metadata.uid ?? '', resourceVersion: entry.metadata.resourceVersion });
    } catch (error) {
      if (!(error instanceof MeshPreconditionError) || attempt === 1) throw error;
    }
  }
  return false;
}
