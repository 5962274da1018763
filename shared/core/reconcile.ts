/**
 * The reconciler's judgement of one task (docs/architecture.md#reconciler): what ECS says
 * now, what the policies say now, what the mesh holds and what the record says, turned into at
 * most one repair. Pure: the pass gathers the facts, this decides, the pass repairs.
 *
 * Fencing invariant: a repair is written only under the version ECS reported for the task when
 * the pass read it (or, when ECS reports none, the version of the record the pass read), and
 * only if the stored record is not newer. An event applied after the pass read ECS always wins.
 */
import { isTombstone, type EnrollmentRecord } from './enrollment.js';
import type { WorkloadEntry } from './kubernetes-types.js';
import { ownValue } from './own-keys.js';
import { taskLiveness } from './task.js';
import { ANNOTATIONS } from './workload-entry.js';

export const REPAIR_KINDS = ['missing', 'orphaned', 'stale-record', 'revoked', 'drifted', 'group-gone', 'unwatched'] as const;
export type RepairKind = (typeof REPAIR_KINDS)[number];

/** What ECS says about the task now. */
export type EcsView =
  | { state: 'running'; version?: number }
  | { state: 'starting'; version?: number }
  | { state: 'stopped'; version?: number }
  /** Neither listed nor described: stopped long ago, its cluster deleted, or not visible yet. */
  | { state: 'unknown' }
  /** In a cluster this deployment no longer watches (not in ecsClusters): ECS is not asked. */
  | { state: 'unwatched'; cluster: string };

/** What policy decides for a running task now. */
export type Verdict =
  | { allowed: true; entry: WorkloadEntry }
  | { allowed: false; reason: string; detail: string; groupGone: boolean };

export interface TaskFacts {
  ecs: EcsView;
  /** Only for running tasks. */
  verdict?: Verdict;
  record?: EnrollmentRecord;
  /** Managed entries carrying this task's id. */
  entries: readonly WorkloadEntry[];
  /** When the oldest sign of the task (record or entry) was last written, epoch ms; for the grace period. */
  lastTouchedMs?: number;
}

export type Repair =
  | { kind: 'missing' | 'drifted'; entry: WorkloadEntry; why: string }
  | { kind: 'revoked' | 'group-gone'; reason: string; why: string }
  | { kind: 'orphaned' | 'stale-record' | 'unwatched'; why: string };

/** ECS's answer for the task, read as task-events and the exchange read it (taskLiveness): stopping counts as stopped. */
export function ecsViewOf(task: { lastStatus: string; desiredStatus: string; version?: number } | undefined): EcsView {
  if (!task) return { state: 'unknown' };
  const version = task.version === undefined ? {} : { version: task.version };
  const liveness = taskLiveness(task);
  return { state: liveness === 'running' || liveness === 'starting' ? liveness : 'stopped', ...version };
}

/** The one repair the facts call for, or `undefined` when the task is as it should be. */
export function judgeTask(facts: TaskFacts, now: Date, graceSeconds: number): Repair | undefined {
  const { ecs, record, entries } = facts;
  // A tombstone is final, whatever ECS lists: only an entry left behind (an enrollment that lost
  // the race to the stop) is repaired.
  if (record && isTombstone(record.phase)) return entries.length > 0 ? { kind: 'orphaned', why: `the record is ${record.phase}` } : undefined;
  // ecsClusters no longer names the cluster: its tasks' events no longer reach us, so nothing of
  // them may stay in the mesh, whatever ECS says about them.
  if (ecs.state === 'unwatched')
    return entries.length > 0 || record?.phase === 'enrolled' || record?.phase === 'pending' ? { kind: 'unwatched', why: `cluster ${ecs.cluster} is not in this deployment's ecsClusters` } : undefined;
  if (ecs.state === 'starting') return undefined; // task-events enrolls it at RUNNING
  if (ecs.state === 'running') return judgeRunning(facts);

  const withinGrace = facts.lastTouchedMs !== undefined && now.getTime() - facts.lastTouchedMs < graceSeconds * 1000;
  // ECS is eventually consistent: a task unknown to it may have just started.
  if (ecs.state === 'unknown' && withinGrace) return undefined;
  if (entries.length > 0) return { kind: 'orphaned', why: ecs.state === 'stopped' ? 'ECS reports the task stopped' : 'ECS does not know the task' };
  if (record && !isTombstone(record.phase) && (record.phase === 'enrolled' || record.phase === 'pending'))
    return { kind: 'stale-record', why: `the record says ${record.phase}, ECS says ${ecs.state === 'stopped' ? 'stopped' : 'nothing'}` };
  return undefined;
}

function judgeRunning({ verdict, record, entries }: TaskFacts): Repair | undefined {
  if (!verdict) return undefined;
  if (!verdict.allowed) {
    const enrolled = entries.length > 0 || record?.phase === 'enrolled' || record?.phase === 'pending';
    if (!enrolled) return undefined;
    return verdict.groupGone
      ? { kind: 'group-gone', reason: verdict.reason, why: verdict.detail }
      : { kind: 'revoked', reason: verdict.reason, why: verdict.detail };
  }
  const want = verdict.entry;
  const have = entries.find((e) => sameRef(e, want));
  if (!have) return { kind: 'missing', entry: want, why: record?.phase === 'enrolled' ? 'the entry is gone from the mesh' : 'an allowed running task has no entry' };
  const drift = entryDrift(want, have);
  if (drift) return { kind: 'drifted', entry: want, why: drift };
  // The task's group changed (its tag did): the entry of the old group goes, the new one stays.
  const elsewhere = entries.find((e) => !sameRef(e, want));
  if (elsewhere) return { kind: 'drifted', entry: want, why: `the task also has entry ${elsewhere.metadata.namespace}/${elsewhere.metadata.name} of another group` };
  if (record?.phase !== 'enrolled') return { kind: 'missing', entry: want, why: `the entry is in the mesh but the record says ${record?.phase ?? 'nothing'}` };
  return undefined;
}

/**
 * The first difference, in what is ours, between the entry we would write and the stored one
 * (docs/enrollment.md#which-part-of-an-entry-is-ours). The spec is ours whole: nobody else writes one, and
 * a field added by hand changes where traffic goes. Labels and annotations are shared with
 * istiod, which adds its own (`istio.io/connectedAt`, ...): a key is ours when we send it, or when
 * the mesh records it as our field manager's (one we stopped sending, that our apply removes).
 * Anyone else's key is not ours to judge, whatever it is named; status we never read.
 */
export function entryDrift(want: WorkloadEntry, have: WorkloadEntry): string | undefined {
  if (!sameJson(want.spec, have.spec)) return 'its spec differs from what the group and the task call for';
  const label = keyDrift(want.metadata.labels, have.metadata.labels, have.ownedKeys?.labels);
  if (label !== undefined) return `its labels differ (${label})`;
  const annotation = keyDrift(want.metadata.annotations, have.metadata.annotations, have.ownedKeys?.annotations);
  if (annotation !== undefined) return `its annotations differ (${annotation})`;
  return undefined;
}

/** Bookkeeping, not what the mesh acts on: a new event version alone is no drift. */
const UNJUDGED_KEYS: ReadonlySet<string> = new Set([ANNOTATIONS.eventVersion]);

/**
 * The first of our keys that differs: one we send that is missing or has another value, or one
 * that `owned` (every key, when the mesh records no ownership) says is ours but we no longer send.
 */
function keyDrift(want: Readonly<Record<string, string>> = {}, have: Readonly<Record<string, string>> = {}, owned: readonly string[] | undefined): string | undefined {
  for (const [key, value] of Object.entries(want)) if (!UNJUDGED_KEYS.has(key) && ownValue(have, key) !== value) return key;
  const ours = (key: string) => owned === undefined || owned.includes(key);
  return Object.keys(have).find((key) => !UNJUDGED_KEYS.has(key) && !Object.hasOwn(want, key) && ours(key));
}

const sameRef = (a: WorkloadEntry, b: WorkloadEntry) => a.metadata.name === b.metadata.name && a.metadata.namespace === b.metadata.namespace;

/** The version a repair is written under (see the fencing invariant above). */
export function reconcileFence(ecs: EcsView, record: EnrollmentRecord | undefined): number {
  const ecsVersion = 'version' in ecs ? ecs.version : undefined;
  return ecsVersion ?? record?.version ?? 0;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortKeys(v)]));
}
