/**
 * PROVISIONING / PENDING: decide early and make sure the service's data-plane token exists, so
 * a sidecar that reads it at start can start. RUNNING: decide, ensure the token, apply the
 * WorkloadEntry, then record. If a newer event (a stop) won the race for the record while we
 * applied, undo our apply so a stopped task is never left in the mesh.
 */
import { droppedLabelsField, isTombstone, restatesStartingRecord, stepForStatus, type EnrollmentRecord } from '../core/enrollment.js';
import { REASONS } from '../core/reasons.js';
import type { EcsTaskDescription, TaskStateChangeEvent } from '../core/task.js';
import { MeshValidationError, VersionConflictError } from '../errors.js';
import { addressInUse, decideEnrollment } from './decide-enrollment.js';
import type { StepDeps } from './deps.js';
import { drainTask, removeTaskEntries } from './drain-task.js';
import { commitEnrollment, commitOrYield, recordBase, recordThatWon } from './record-enrollment.js';

/** Enrolls (or refuses) one running task and returns the record written. */
export async function enrollRunningTask(
  event: TaskStateChangeEvent,
  previous: EnrollmentRecord | undefined,
  task: EcsTaskDescription | undefined,
  deps: StepDeps,
  now: Date,
): Promise<EnrollmentRecord | undefined> {
  const base = recordBase(event, previous, now);
  if (!task) {
    return refuseAndClean(event, previous, { ...base, phase: 'rejected', reason: REASONS.TASK_NOT_FOUND, detail: 'DescribeTasks reports the task missing' }, deps);
  }
  const stopping = drainIfStopping(event, previous, task, deps, now);
  if (stopping) return stopping;

  // The address is claimed below instead of read here: the claim answers what the read would,
  // atomically, in one write (the reconciler, the exchange and explain read it in the decision).
  const decision = await decideEnrollment(event, task, { ...deps, addresses: undefined }, now);
  if (decision.outcome !== 'enrolled') {
    return refuseAndClean(event, previous, {
      ...base,
      phase: decision.outcome,
      reason: decision.reason,
      detail: decision.detail,
      roleArn: decision.roleArn ?? base.roleArn,
      namespace: decision.group?.namespace ?? base.namespace,
      workloadGroup: decision.group?.name ?? base.workloadGroup,
    }, deps);
  }

  // Of two tasks enrolling with one address at once, the claim lets one win; the other is refused as the decision would.
  const holder = await deps.addresses?.claim(decision.claim, { taskId: event.taskId, taskArn: task.taskArn }, now);
  if (holder) {
    const refusedRecord = { ...base, phase: 'rejected' as const, ...addressInUse(decision.claim, holder), roleArn: decision.identity.role.arn, namespace: decision.group.metadata.namespace, workloadGroup: decision.group.metadata.name };
    return refuseAndClean(event, previous, refusedRecord, deps);
  }
  const token = await deps.ensureToken?.(decision.group, now);
  const entry = decision.entry;
  let applied;
  try {
    applied = await deps.mesh.applyWorkloadEntry(entry);
  } catch (error) {
    if (!(error instanceof MeshValidationError)) throw error;
    // The decision validated the entry against the CRD; only the API server's own checks are left.
    return refuseAndClean(event, previous, { ...base, phase: 'rejected', reason: REASONS.ENTRY_INVALID, detail: `WorkloadEntry fails the Istio CRD schema: ${error.problems.join('; ')}` }, deps);
  }
  const record: EnrollmentRecord = {
    ...base,
    phase: 'enrolled',
    reason: REASONS.POLICY_ALLOWED,
    detail: `allowed by ${decision.policy} rule ${decision.rule}${describeToken(token)}`,
    namespace: entry.metadata.namespace,
    workloadGroup: decision.group.metadata.name,
    entryName: entry.metadata.name,
    entryUid: applied.metadata.uid,
    address: decision.address,
    network: decision.claim.network,
    roleArn: decision.identity.role.arn,
    policy: decision.policy,
    rule: decision.rule,
    ...droppedLabelsField(decision.droppedLabels),
  };
  try {
    await commitEnrollment(record, deps);
    return record;
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
    const current = await recordThatWon(error, event.taskId, deps);
    if (current && isTombstone(current.phase)) {
      deps.log.warn('task stopped while it was being enrolled; removing the entry again', { taskId: event.taskId });
      await removeTaskEntries(event, record, deps);
    }
    return undefined;
  }
}

/** Records a starting task: refused now if it will be refused at RUNNING, else its token is made ready. */
export async function prepareStartingTask(
  event: TaskStateChangeEvent,
  previous: EnrollmentRecord | undefined,
  task: EcsTaskDescription | undefined,
  deps: StepDeps,
  now: Date,
): Promise<EnrollmentRecord | undefined> {
  const base = { ...recordBase(event, previous, now), phase: 'pending' as const, reason: REASONS.TASK_STARTING };
  if (!task) return commitOrYield({ ...base, detail: `task is ${event.lastStatus}; DescribeTasks does not report it yet` }, deps);
  const stopping = drainIfStopping(event, previous, task, deps, now);
  if (stopping) return stopping;
  // A starting task's address is judged when it runs and claims it (enrollRunningTask).
  const decision = await decideEnrollment(event, task, { ...deps, addresses: undefined }, now);
  if (decision.outcome !== 'enrolled') {
    deps.log.warn('starting task will not be enrolled', { taskId: event.taskId, phase: decision.outcome, reason: decision.reason, detail: decision.detail });
    return commitStarting(previous, { ...base, phase: decision.outcome, reason: decision.reason, detail: decision.detail, roleArn: decision.roleArn, namespace: decision.group?.namespace, workloadGroup: decision.group?.name }, deps);
  }
  const token = await deps.ensureToken?.(decision.group, now);
  return commitStarting(previous, {
    ...base,
    detail: `task is ${event.lastStatus}; allowed by ${decision.policy} rule ${decision.rule}${describeToken(token)}`,
    namespace: decision.group.metadata.namespace,
    workloadGroup: decision.group.metadata.name,
    roleArn: decision.identity.role.arn,
    policy: decision.policy,
    rule: decision.rule,
    ...droppedLabelsField(decision.droppedLabels),
  }, deps);
}

/** A starting task's record, unless an earlier starting event already recorded the same decision. */
function commitStarting(previous: EnrollmentRecord | undefined, record: EnrollmentRecord, deps: StepDeps): Promise<EnrollmentRecord | undefined> {
  if (!restatesStartingRecord(previous, record)) return commitOrYield(record, deps);
  deps.log.info('starting task decided as recorded; record kept', { taskId: record.taskId, version: record.version, recorded: previous?.version, phase: record.phase });
  return Promise.resolve(undefined);
}

/** The event is older than what ECS says now: a task already told to stop must not join. */
function drainIfStopping(event: TaskStateChangeEvent, previous: EnrollmentRecord | undefined, task: EcsTaskDescription, deps: StepDeps, now: Date): Promise<EnrollmentRecord | undefined> | undefined {
  const current = stepForStatus(task);
  if (current.kind !== 'drain' && current.kind !== 'deregister') return undefined;
  return drainTask(current.kind, { ...event, lastStatus: task.lastStatus, desiredStatus: task.desiredStatus }, previous, deps, now);
}

function describeToken(token: Awaited<ReturnType<NonNullable<StepDeps['ensureToken']>>> | undefined): string {
  return token ? `; data-plane token ${token.outcome} (kid ${token.kid}, expires ${token.expiresAt})` : '';
}

/** Records a refusal; an entry left from an earlier enrollment of this task is removed first. */
async function refuseAndClean(event: TaskStateChangeEvent, previous: EnrollmentRecord | undefined, record: EnrollmentRecord, deps: StepDeps): Promise<EnrollmentRecord | undefined> {
  if (previous?.phase === 'enrolled') await removeTaskEntries(event, previous, deps);
  deps.log.warn('task not enrolled', { taskId: event.taskId, phase: record.phase, reason: record.reason, detail: record.detail });
  try {
    await commitEnrollment({ ...record, entryName: undefined, entryUid: undefined }, deps);
    return record;
  } catch (error) {
    if (error instanceof VersionConflictError) return undefined;
    throw error;
  }
}
