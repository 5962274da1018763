/**
 * Processes one batch of ECS Task State Change events (docs/architecture.md#enrollment). Per task only the newest
 * event of the batch is acted on (older ones are superseded by it); the enrollment record is
 * written last, conditionally on version, so a failure anywhere leaves it where it was and
 * the record is retried.
 */
import { boundByEcsVersion, checkStopAgainstEcs, nextEnrollmentStep, type EnrollmentRecord, type EnrollmentStep } from '../core/enrollment.js';
import { taskArnsByCluster, type EcsTaskDescription, type TaskStateChangeEvent } from '../core/task.js';
import { ControlPlaneError } from '../errors.js';
import type { EnrollmentDeps, StepDeps } from './deps.js';
import { drainTask, keepContradictedTask } from './drain-task.js';
import { enrollRunningTask, prepareStartingTask } from './enroll-running-task.js';
import { withCorrelationId } from './log.js';
import type { Log } from '../ports.js';
import { mapLimited } from './map-limited.js';

/**
 * Tasks of a batch worked on at once. A batch holds up to 100 events (serverless.yml): the mesh's
 * API server sees at most this many writes in flight per container, not a hundred.
 */
export const TASKS_IN_FLIGHT = 20;

export interface BatchItem {
  /** The SQS message id, reported back when the item fails. */
  id: string;
  event: TaskStateChangeEvent;
}

export interface TaskOutcome {
  taskId: string;
  version: number;
  step: EnrollmentStep['kind'];
  phase?: EnrollmentRecord['phase'];
  reason?: string;
  error?: string;
  /** The version the event claimed, when it was ahead of ECS's and ECS's was used instead. */
  versionAheadOfEcs?: number;
}

export interface BatchResult {
  /** Ids of items to retry (their task's processing failed). */
  failedIds: string[];
  outcomes: TaskOutcome[];
  /** The `time` of every event of the batch (event lag). */
  eventTimes: string[];
}

/** Applies a batch; never throws for a single task's failure. */
export async function enrollTasks(items: BatchItem[], deps: EnrollmentDeps, now: Date): Promise<BatchResult> {
  const byTask = groupByTask(items);
  const newestItems = [...byTask.values()].map((group) => group.reduce((a, b) => (b.event.version > a.event.version ? b : a)));
  const newest = newestItems.map((item) => item.event);
  // Each task's lines carry the SQS message id of the event acted on.
  const logs = new Map<string, Log>(newestItems.map((item) => [item.event.taskId, withCorrelationId(deps.log, item.id)]));
  const logOf = (taskId: string) => logs.get(taskId) ?? deps.log;
  const records = await deps.enrollments.getMany(newest.map((e) => e.taskId));
  const planned = newest.map((event) => ({ event, step: nextEnrollmentStep(records.get(event.taskId), event) }));

  // One DescribeTasks per cluster for every task the batch changes: starting and running tasks
  // need their identity, every step needs ECS's version to bound the event's, and a stop ECS's word.
  const described = await describeByCluster(planned.filter((s) => s.step.kind !== 'skip').map((s) => s.event), deps);
  const steps = planned.map(({ event, step }) => {
    const lookup = described.get(event.clusterArn);
    const bounded = boundByEcsVersion(event, lookup instanceof Map ? lookup.get(event.taskId)?.version : undefined);
    if (bounded.aheadBy === undefined) return { event, step };
    logOf(event.taskId).warn('event version is ahead of ECS; ECS’s version is recorded instead', { taskId: event.taskId, eventVersion: event.version, ecsVersion: bounded.change.version });
    return { event: bounded.change, step: nextEnrollmentStep(records.get(event.taskId), bounded.change), versionAheadOfEcs: event.version };
  });
  const stepDeps: StepDeps = { ...deps, ensureToken: deps.serviceTokens?.() };

  const results = await mapLimited(steps, TASKS_IN_FLIGHT, async ({ event, step, versionAheadOfEcs }): Promise<TaskOutcome> => {
    const log = logOf(event.taskId);
    const base = { taskId: event.taskId, version: event.version, step: step.kind, ...(versionAheadOfEcs !== undefined ? { versionAheadOfEcs } : {}) };
    try {
      const lookup = described.get(event.clusterArn);
      // Without ECS's word (throttled, unavailable) no step is taken on the event alone: SQS redelivers it.
      if (lookup instanceof Error && step.kind !== 'skip') throw lookup;
      const task = lookup instanceof Map ? lookup.get(event.taskId) : undefined;
      const claimed = { ...event, version: versionAheadOfEcs ?? event.version };
      const record = await applyStep(step, event, claimed, records.get(event.taskId), task, { ...stepDeps, log }, now);
      return record ? { ...base, phase: record.phase, reason: record.reason } : base;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      log.error('task event failed; it will be retried', { taskId: event.taskId, version: event.version, step: step.kind, error: err.message, code: (err as { code?: string }).code });
      return { ...base, error: err.message };
    }
  });
  const failedTasks = new Set(results.filter((r) => r.error).map((r) => r.taskId));
  const failedIds = items.filter((i) => failedTasks.has(i.event.taskId)).map((i) => i.id);
  return { failedIds, outcomes: results, eventTimes: items.map((i) => i.event.time) };
}

/** `event` is the change as applied (its version bounded by ECS's), `claimed` the change as it came. */
async function applyStep(
  step: EnrollmentStep,
  event: TaskStateChangeEvent,
  claimed: TaskStateChangeEvent,
  previous: EnrollmentRecord | undefined,
  task: EcsTaskDescription | undefined,
  deps: StepDeps,
  now: Date,
): Promise<EnrollmentRecord | undefined> {
  switch (step.kind) {
    case 'skip':
      deps.log.info('event changes nothing', { taskId: event.taskId, version: event.version, why: step.why, recorded: previous?.version });
      return undefined;
    case 'prepare':
      return prepareStartingTask(event, previous, task, deps, now);
    case 'enroll':
      return enrollRunningTask(event, previous, task, deps, now);
    case 'drain':
    case 'deregister': {
      const check = checkStopAgainstEcs(claimed, task);
      if (check.verdict === 'unconfirmed') throw new ControlPlaneError('STOP_UNCONFIRMED', `stop not applied until ECS confirms it: ${check.detail}`);
      if (check.verdict === 'contradicted') return keepContradictedTask(event, previous, check, deps, now);
      return drainTask(step.kind, event, previous, deps, now);
    }
    default: {
      const unreachable: never = step;
      throw new Error(`unknown step ${JSON.stringify(unreachable)}`);
    }
  }
}

function groupByTask(items: BatchItem[]): Map<string, BatchItem[]> {
  const groups = new Map<string, BatchItem[]>();
  for (const item of items) groups.set(item.event.taskId, [...(groups.get(item.event.taskId) ?? []), item]);
  return groups;
}

async function describeByCluster(events: TaskStateChangeEvent[], deps: EnrollmentDeps): Promise<Map<string, Map<string, EcsTaskDescription> | Error>> {
  const byCluster = taskArnsByCluster(events);
  const result = new Map<string, Map<string, EcsTaskDescription> | Error>();
  await Promise.all(
    [...byCluster].map(async ([cluster, arns]) => {
      // A failure fails only this cluster's tasks.
      result.set(cluster, await deps.tasks.describeTasks(cluster, arns).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    }),
  );
  return result;
}
