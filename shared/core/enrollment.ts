/**
 * The enrollment lifecycle of one task (docs/architecture.md#enrollment). ECS delivers Task State Change events at
 * least once and out of order; `detail.version` grows with every change of a task, so the
 * record keeps the highest version applied and anything older or equal changes nothing.
 * A stopping or stopped task leaves a tombstone that no later event can undo.
 */
import type { Reason } from './reasons.js';
import type { DroppedLabel } from './task-labels.js';
import { taskLiveness, type TaskLiveness } from './task.js';

export const PHASES = ['pending', 'enrolled', 'draining', 'deregistered', 'rejected', 'ignored'] as const;
export type Phase = (typeof PHASES)[number];

/** Phases after which the task can never be registered again. */
const TERMINAL_PHASES: ReadonlySet<Phase> = new Set(['draining', 'deregistered']);

export interface EnrollmentRecord {
  taskId: string;
  taskArn: string;
  clusterArn: string;
  clusterName: string;
  /** Highest ECS event version applied. */
  version: number;
  phase: Phase;
  reason: Reason;
  /** Human-readable explanation; never holds a token or a secret. */
  detail: string;
  lastStatus: string;
  desiredStatus: string;
  namespace?: string;
  workloadGroup?: string;
  entryName?: string;
  entryUid?: string;
  address?: string;
  /** The network the entry's address is on (resolveNetwork; '' the default): with `address`, the claim the task holds. */
  network?: string;
  roleArn?: string;
  policy?: string;
  rule?: number;
  /** Task label tags the entry does not carry, each with its reason (shared/core/task-labels.ts). */
  droppedLabels?: DroppedLabel[];
  updatedAt: string;
  /** The latest onboarding token issued to this task by the auth exchange (never the token itself). */
  onboardingToken?: IssuedToken;
  /** Epoch seconds after which DynamoDB's TTL removes a tombstone. */
  expiresAt?: number;
  /** When the reconciler last wrote this record (it writes only to repair), and what it repaired. */
  lastReconciledAt?: string;
  repair?: { kind: string; at: string; why: string };
}

export interface IssuedToken {
  jti: string;
  issuedAt: string;
  expiresAt: string;
  kid: string;
}

/** `droppedLabels` for an admitted task's record: present only when a task label was dropped. */
export function droppedLabelsField(dropped: readonly DroppedLabel[]): Pick<EnrollmentRecord, 'droppedLabels'> {
  return dropped.length > 0 ? { droppedLabels: [...dropped] } : {};
}

/** The fields of an ECS Task State Change that drive the lifecycle. */
export interface TaskStateChange {
  version: number;
  lastStatus: string;
  desiredStatus: string;
}

export type EnrollmentStep =
  | { kind: 'skip'; why: 'stale' | 'duplicate' | 'tombstoned' }
  /** PROVISIONING / PENDING / ACTIVATING: nothing to register yet. */
  | { kind: 'prepare' }
  /** RUNNING and meant to stay so: resolve identity, evaluate, apply the entry. */
  | { kind: 'enroll' }
  /** Desired STOPPED or stopping: remove the entry now, before the task dies. */
  | { kind: 'drain' }
  /** STOPPED: remove the entry if still there and leave a tombstone. */
  | { kind: 'deregister' };

/** Decides what an event means for a task, given what was already applied. */
export function nextEnrollmentStep(record: EnrollmentRecord | undefined, change: TaskStateChange): EnrollmentStep {
  if (record) {
    if (change.version < record.version) return { kind: 'skip', why: 'stale' };
    if (change.version === record.version) return { kind: 'skip', why: 'duplicate' };
  }
  const step = stepForStatus(change);
  if (record && TERMINAL_PHASES.has(record.phase)) {
    // A tombstone only ever moves from draining to deregistered.
    return step.kind === 'deregister' && record.phase === 'draining' ? step : { kind: 'skip', why: 'tombstoned' };
  }
  return step;
}

const STEP_FOR_LIVENESS = { stopped: 'deregister', stopping: 'drain', running: 'enroll', starting: 'prepare' } as const satisfies Record<TaskLiveness, EnrollmentStep['kind']>;

/** What a task's statuses alone call for, regardless of history (taskLiveness, shared with the reconciler and the exchange). */
export function stepForStatus(change: Omit<TaskStateChange, 'version'>): EnrollmentStep {
  return { kind: STEP_FOR_LIVENESS[taskLiveness(change)] };
}

/** What a starting task's record says about its decision (the rest is status and time). */
const STARTING_DECISION_FIELDS = ['phase', 'reason', 'namespace', 'workloadGroup', 'roleArn', 'policy', 'rule'] as const satisfies readonly (keyof EnrollmentRecord)[];

/**
 * Whether `next`, a record for a starting task, restates what an earlier starting event already
 * recorded: the same phase, reason and decision (and, for a refusal, the same explanation). The
 * lifecycle records a task once when it is first seen starting and again when it runs; a second
 * starting event (PENDING after PROVISIONING) that decides the same has nothing to add, so its
 * write is skipped (docs/architecture.md#enrollment). Fencing is unaffected: nothing is written.
 */
export function restatesStartingRecord(previous: EnrollmentRecord | undefined, next: EnrollmentRecord): boolean {
  if (!previous || stepForStatus(previous).kind !== 'prepare' || stepForStatus(next).kind !== 'prepare') return false;
  if (STARTING_DECISION_FIELDS.some((field) => previous[field] !== next[field])) return false;
  return next.phase === 'pending' || previous.detail === next.detail;
}

/** Whether a stored phase is a tombstone (the store refuses to overwrite it with a live phase). */
export function isTombstone(phase: Phase): boolean {
  return TERMINAL_PHASES.has(phase);
}

/**
 * An event's version may not run ahead of ECS's own count for the task (DescribeTasks
 * `version`): such an event is not ECS's, and recording its version would make every real
 * event after it look stale. The change is kept, with ECS's version, and the excess reported.
 */
export function boundByEcsVersion<C extends TaskStateChange>(change: C, ecsVersion: number | undefined): { change: C; aheadBy?: number } {
  if (ecsVersion === undefined || change.version <= ecsVersion) return { change };
  return { change: { ...change, version: ecsVersion }, aheadBy: change.version - ecsVersion };
}

/** What ECS's own description of a task says about a stop event of it. */
export type StopCheck =
  | { verdict: 'stands' }
  /** ECS describes the task live at the event's version or later: the stop is not ECS's. */
  | { verdict: 'contradicted'; detail: string; ecs: Omit<TaskStateChange, 'version'> }
  /** ECS describes the task live at a version older than the event's: ask again later. */
  | { verdict: 'unconfirmed'; detail: string };

/**
 * A stop is final (its tombstone is never undone), so the event alone is not enough to take it:
 * it stands unless ECS describes the task live (`stepForStatus`, as for any change). ECS tracks a
 * stop request as the task's desiredStatus STOPPED, which nothing sets back, and the event is the
 * task as it was at its version; so ECS describing the task desired RUNNING at that version or
 * later contradicts it. A description older than the event (ECS reads are eventually consistent)
 * confirms nothing yet. Without a version (moto; real ECS always gives one), ECS's statuses alone
 * decide. A task ECS no longer knows contradicts nothing.
 */
export function checkStopAgainstEcs(claimed: TaskStateChange, described: (Omit<TaskStateChange, 'version'> & { version?: number }) | undefined): StopCheck {
  if (!described) return { verdict: 'stands' };
  const ecsStep = stepForStatus(described).kind;
  if (ecsStep === 'drain' || ecsStep === 'deregister') return { verdict: 'stands' };
  const ecs = `ECS describes the task ${described.lastStatus}, desired ${described.desiredStatus}${described.version === undefined ? '' : ` at version ${described.version}`}`;
  const event = `the stop event (${claimed.lastStatus}, desired ${claimed.desiredStatus}) claims version ${claimed.version}`;
  if (described.version !== undefined && described.version < claimed.version) return { verdict: 'unconfirmed', detail: `${event}; ${ecs}` };
  return { verdict: 'contradicted', detail: `stop not applied: ${event}; ${ecs}`, ecs: { lastStatus: described.lastStatus, desiredStatus: described.desiredStatus } };
}
