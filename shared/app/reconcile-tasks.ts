/**
 * One reconcile pass (docs/architecture.md#reconciler): the truth from ECS, what we believe
 * (records, managed entries), every task judged by `judgeTask` and repaired through the same
 * decision code and conditional writes as task-events. Bounded: at most `maxTasksPerPass` tasks
 * per invocation, in task-id order, carrying on from a stored cursor.
 */
import { droppedLabelsField, isTombstone, type EnrollmentRecord } from '../core/enrollment.js';
import type { WorkloadEntry } from '../core/kubernetes-types.js';
import { REASONS, type Reason } from '../core/reasons.js';
import { ecsViewOf, entryDrift, judgeTask, reconcileFence, REPAIR_KINDS, type EcsView, type Repair, type RepairKind, type Verdict } from '../core/reconcile.js';
import { clusterNamed, clusterNameFromArn, roleNameFromArn, sameRoleName, taskArnsByCluster, type EcsTaskDescription } from '../core/task.js';
import { ANNOTATIONS, DEPLOYMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_ID_LABEL, writtenByAnotherDeployment } from '../core/workload-entry.js';
import { UpstreamThrottledError, VersionConflictError } from '../errors.js';
import type { ReconcileCursorStore, TaskInventory } from '../ports.js';
import { addressInUse, contextOfTask, decideEnrollment, type EnrollmentDecision } from './decide-enrollment.js';
import type { EnrollmentDeps, ServiceTokenEnsurer } from './deps.js';
import { removeTaskEntries } from './drain-task.js';
import { recordThatWon } from './record-enrollment.js';

export interface ReconcileSettings {
  /** A task ECS does not know is left alone this long after its record or entry was written. */
  graceSeconds: number;
  maxTasksPerPass: number;
  /** Client-side bound on DescribeTasks calls, below ECS's shared Describe* quota. */
  describeCallsPerSecond: number;
  /**
   * The deployment's clusters (names or ARNs; ecsClusters): every pass, requested or scheduled, stays
   * within them, since the role may list and describe tasks there only. Empty: every cluster.
   */
  clusters?: readonly string[];
}

export interface ReconcileDeps extends EnrollmentDeps {
  inventory: TaskInventory;
  cursor?: ReconcileCursorStore;
  settings: ReconcileSettings;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms the DescribeTasks spacing and the pass's duration are measured by; Date.now unless a test moves it with `sleep`. */
  clock?: () => number;
}

export interface ReconcileOptions {
  /** Cluster names or ARNs; default: every cluster of the account and region (within settings.clusters). */
  clusters?: readonly string[];
  /** Only tasks whose record or entry is in this namespace (a policy of it changed). */
  namespace?: string;
  /** Only tasks whose record names this task role (its tags changed, or it was deleted), in any case (sameRoleName). */
  roleName?: string;
  dryRun?: boolean;
  /** Carry on from (and save) the stored cursor: the scheduled pass does, an on-demand one does not. */
  useCursor?: boolean;
}

export interface RepairOutcome {
  taskId: string;
  taskArn: string;
  kind: RepairKind;
  why: string;
  applied: boolean;
  error?: string;
}

export interface ReconcileReport {
  dryRun: boolean;
  clusters: string[];
  /** Task ids the pass knew of (ECS running, records, entries) in its scope. */
  tasksSeen: number;
  /** Of those, judged in this invocation (at most maxTasksPerPass). */
  tasksJudged: number;
  /** `false` when the cap stopped the pass: the next invocation carries on. */
  complete: boolean;
  counts: Record<RepairKind, number>;
  repairs: RepairOutcome[];
  /** Tasks whose policy, role or group could not be read this pass; the next one judges them again. */
  unjudged: { taskId: string; taskArn: string; error: string }[];
  durationMs: number;
}

const DESCRIBE_BATCH = 100;
const THROTTLE_ATTEMPTS = 6;
const LIVE_PHASES = ['enrolled', 'pending'] as const;

/** Runs one pass; a failure of one task's repair is reported, not thrown. */
export async function reconcileTasks(options: ReconcileOptions, deps: ReconcileDeps, now: Date): Promise<ReconcileReport> {
  const clock = deps.clock ?? Date.now;
  const started = clock();
  const clusters = await scopeClusters(options, deps);
  const listed = new Set(clusters);
  const { known, entries, records } = await ownedTasks(listed, options, deps);
  const inScopeIds = [...known.keys()].sort().filter(
    (id) =>
      (options.namespace === undefined || entries.has(id) || records.get(id)?.namespace === options.namespace) &&
      (options.roleName === undefined || isRoleOf(records.get(id)?.roleArn, options.roleName)),
  );
  const after = options.useCursor ? await deps.cursor?.load() : undefined;
  const ids = inScopeIds.filter((id) => after === undefined || id > after);
  const scoped = ids.slice(0, deps.settings.maxTasksPerPass);
  const complete = scoped.length === ids.length;
  // ECS is asked only about the clusters this deployment watches (the role may describe no others).
  const watched = (clusterArn: string) => named(deps.settings.clusters, clusterArn);
  const { found: described, failed } = await describeLimited(scoped.map((id) => known.get(id)!).filter((t) => watched(t.clusterArn)), listed, deps);

  const ensureToken = deps.serviceTokens?.();
  const repairs: RepairOutcome[] = [];
  const unjudged: ReconcileReport['unjudged'] = [];
  for (const taskId of scoped) {
    const { taskArn, clusterArn } = known.get(taskId)!;
    const unreadable = failed.get(clusterArn);
    if (unreadable !== undefined) {
      unjudged.push({ taskId, taskArn, error: unreadable });
      continue;
    }
    const task = described.get(taskId);
    const record = records.get(taskId);
    const taskEntries = entries.get(taskId) ?? [];
    const ecs: EcsView = watched(clusterArn) ? ecsViewOf(task) : { state: 'unwatched', cluster: clusterNameFromArn(clusterArn) ?? clusterArn };
    const fence = reconcileFence(ecs, record);
    // A tombstone is final: a task ECS still lists as running after its stop event is not re-enrolled.
    let judged: Awaited<ReturnType<typeof verdictFor>> | undefined;
    try {
      judged = ecs.state === 'running' && task && !(record && isTombstone(record.phase)) ? await verdictFor(task, fence, deps, now) : undefined;
    } catch (error) {
      // One task's facts failing to load (a throttled GetRole, a mesh timeout) must not cost the
      // rest of the pass its repairs: at 10,000 tasks some read always fails.
      const message = (error as Error).message;
      unjudged.push({ taskId, taskArn, error: message });
      deps.log.error('could not judge the task; the next pass retries it', { taskId, error: message });
      continue;
    }
    const repair = judgeTask({ ecs, verdict: judged?.verdict, record, entries: taskEntries, lastTouchedMs: lastTouched(record, taskEntries) }, now, deps.settings.graceSeconds);
    if (!repair) continue;
    const outcome: RepairOutcome = { taskId, taskArn, kind: repair.kind, why: repair.why, applied: false };
    repairs.push(outcome);
    if (options.dryRun) continue;
    try {
      await applyRepair(repair, { taskId, taskArn, task, record, ecs, fence, decision: judged?.decision, entries: taskEntries }, { ...deps, ensureToken }, now);
      outcome.applied = true;
    } catch (error) {
      if (error instanceof VersionConflictError) {
        outcome.error = 'a newer event was applied first; it wins';
        continue;
      }
      outcome.error = (error as Error).message;
      deps.log.error('reconcile repair failed; the next pass retries it', { taskId, kind: repair.kind, error: outcome.error });
    }
  }
  if (options.useCursor && !options.dryRun) await deps.cursor?.save(complete ? undefined : scoped.at(-1));

  const counts = Object.fromEntries(REPAIR_KINDS.map((k) => [k, repairs.filter((r) => r.kind === k).length])) as Record<RepairKind, number>;
  for (const r of repairs) deps.log.info('reconcile repair', { taskId: r.taskId, kind: r.kind, why: r.why, applied: r.applied, dryRun: options.dryRun ?? false, ...(r.error ? { error: r.error } : {}) });
  return { dryRun: options.dryRun ?? false, clusters, tasksSeen: known.size, tasksJudged: scoped.length, complete, counts, repairs, unjudged, durationMs: clock() - started };
}

type TaskRef = { taskArn: string; clusterArn: string };

/**
 * What this deployment owns, task by task: the running tasks of the clusters the pass lists,
 * and every entry and live record it wrote, whatever their cluster (one ECS no longer lists, one
 * dropped from ecsClusters). Another deployment's entries are never ours to judge.
 */
async function ownedTasks(listed: ReadonlySet<string>, options: ReconcileOptions, deps: ReconcileDeps) {
  const requested = (clusterArn: string) => named(options.clusters, clusterArn);
  const known = new Map<string, TaskRef>();
  for (const clusterArn of listed) {
    for (const taskArn of await deps.inventory.listRunningTaskArns(clusterArn)) known.set(taskIdOf(taskArn), { taskArn, clusterArn });
  }
  const entries = new Map<string, WorkloadEntry[]>();
  const unproven = new Map<string, TaskRef & { entries: WorkloadEntry[] }>();
  for (const entry of await deps.mesh.listWorkloadEntries({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE })) {
    const taskId = entry.metadata.labels?.[TASK_ID_LABEL];
    const taskArn = entry.metadata.annotations?.[ANNOTATIONS.taskArn];
    const clusterArn = entry.metadata.annotations?.[ANNOTATIONS.clusterArn];
    if (!taskId || !taskArn || !clusterArn || !requested(clusterArn) || writtenByAnotherDeployment(entry, deps.deployment)) continue;
    if (options.namespace !== undefined && entry.metadata.namespace !== options.namespace) continue;
    if (entry.metadata.labels?.[DEPLOYMENT_LABEL] === undefined && !listed.has(clusterArn)) {
      // Written before entries named their deployment, in a cluster we do not list: ours only if
      // our table holds its task's record (checked below). In a listed cluster it is ours, as
      // every pass judged those before.
      const seen = unproven.get(taskId) ?? { taskArn, clusterArn, entries: [] };
      unproven.set(taskId, { ...seen, entries: [...seen.entries, entry] });
      continue;
    }
    entries.set(taskId, [...(entries.get(taskId) ?? []), entry]);
    if (!known.has(taskId)) known.set(taskId, { taskArn, clusterArn });
  }
  // The live records from the phase index (only they can be stale): a Query each, never the
  // tombstones. The table is this deployment's own, so each is ours, whatever its cluster.
  for (const phase of LIVE_PHASES) {
    for (const record of await deps.enrollments.summaries({ phase })) {
      if (!requested(record.clusterArn) || known.has(record.taskId)) continue;
      known.set(record.taskId, { taskArn: record.taskArn, clusterArn: record.clusterArn });
    }
  }
  const records = await deps.enrollments.getMany([...new Set([...known.keys(), ...unproven.keys()])]);
  for (const [taskId, { entries: adopted, ...ref }] of unproven) {
    if (!records.has(taskId)) continue;
    entries.set(taskId, [...(entries.get(taskId) ?? []), ...adopted]);
    if (!known.has(taskId)) known.set(taskId, ref);
  }
  return { known, entries, records };
}

const named = clusterNamed;

async function scopeClusters(options: ReconcileOptions, deps: ReconcileDeps): Promise<string[]> {
  const all = (await deps.inventory.listClusters()).filter((arn) => named(deps.settings.clusters, arn));
  return all.filter((arn) => named(options.clusters, arn));
}

const taskIdOf = (taskArn: string) => taskArn.split('/').pop() ?? taskArn;

function lastTouched(record: EnrollmentRecord | undefined, entries: readonly WorkloadEntry[]): number | undefined {
  const times = [record?.updatedAt, ...entries.map((e) => e.metadata.creationTimestamp)].map((t) => (t ? Date.parse(t) : NaN)).filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : undefined;
}

/** What policy says now, through task-events' own decision, and the entry it would write (stamped with the fence). */
async function verdictFor(task: EcsTaskDescription, fence: number, deps: ReconcileDeps, now: Date): Promise<{ verdict: Verdict; decision: EnrollmentDecision }> {
  const decision = await decideEnrollment({ ...contextOfTask(task), version: fence }, task, deps, now);
  if (decision.outcome !== 'enrolled')
    return { decision, verdict: { allowed: false, reason: decision.reason, detail: decision.detail, groupGone: decision.reason === REASONS.WORKLOAD_GROUP_NOT_FOUND } };
  return { decision, verdict: { allowed: true, entry: decision.entry } };
}

interface RepairTarget {
  taskId: string;
  taskArn: string;
  task: EcsTaskDescription | undefined;
  record: EnrollmentRecord | undefined;
  ecs: EcsView;
  fence: number;
  decision: EnrollmentDecision | undefined;
  /** The task's managed entries as the pass listed them. */
  entries: readonly WorkloadEntry[];
}

async function applyRepair(repair: Repair, target: RepairTarget, deps: ReconcileDeps & { ensureToken?: ServiceTokenEnsurer }, now: Date): Promise<void> {
  const { taskId, taskArn, record, fence } = target;
  const at = now.toISOString();
  const base = baseRecord(target, at);
  const marks = { lastReconciledAt: at, repair: { kind: repair.kind, at, why: repair.why } };
  switch (repair.kind) {
    case 'missing':
    case 'drifted': {
      const { decision } = target;
      const entry = repair.entry;
      if (decision?.outcome === 'enrolled') {
        // As task-events: the address is claimed before the entry goes in; a task that took it since the decision wins.
        const holder = await deps.addresses?.claim(decision.claim, { taskId, taskArn }, now);
        if (holder) {
          await removeTaskEntries({ taskId, taskArn }, undefined, deps);
          const clash = addressInUse(decision.claim, holder);
          await deps.enrollments.putReconciled({ ...base, phase: 'rejected', ...clash, detail: `was ${record?.phase ?? 'not in the mesh'}; now ${clash.detail}`, entryName: undefined, entryUid: undefined, policy: undefined, rule: undefined, ...marks }, fence);
          return;
        }
        await deps.ensureToken?.(decision.group, now);
      }
      const applied = await applyConverged(entry, taskArn, deps);
      // Entries of another group (the task's tag changed) go, under the usual ownership checks.
      for (const other of target.entries.filter((e) => e.metadata.name !== entry.metadata.name || e.metadata.namespace !== entry.metadata.namespace))
        await removeTaskEntries({ taskId, taskArn }, { entryName: other.metadata.name, namespace: other.metadata.namespace }, deps);
      const enrolled: EnrollmentRecord = {
        ...base,
        phase: 'enrolled',
        reason: REASONS.POLICY_ALLOWED,
        detail: `${repair.kind === 'missing' ? 'restored' : 're-applied'} by the reconciler: ${repair.why}${decision?.outcome === 'enrolled' ? `; allowed by ${decision.policy} rule ${decision.rule}` : ''}`,
        namespace: entry.metadata.namespace,
        workloadGroup: decision?.outcome === 'enrolled' ? decision.group.metadata.name : base.workloadGroup,
        entryName: entry.metadata.name,
        entryUid: applied.metadata.uid,
        address: entry.spec.address,
        ...(decision?.outcome === 'enrolled' ? { network: decision.claim.network, roleArn: decision.identity.role.arn, policy: decision.policy, rule: decision.rule, ...droppedLabelsField(decision.droppedLabels) } : {}),
        expiresAt: undefined, // an unwatched task's record expires; an enrolled one must not
        ...marks,
      };
      try {
        await deps.enrollments.putReconciled(enrolled, fence);
      } catch (error) {
        // A stop won the race while we applied: never leave a stopped task in the mesh.
        if (error instanceof VersionConflictError) {
          const current = await recordThatWon(error, taskId, deps);
          if (current && isTombstone(current.phase)) await removeTaskEntries({ taskId, taskArn }, undefined, deps);
        }
        throw error;
      }
      return;
    }
    case 'revoked':
    case 'group-gone': {
      await removeTaskEntries({ taskId, taskArn }, undefined, deps);
      // An address another task holds is no policy change: the record says so, as task-events' would.
      const reason: Reason = repair.kind === 'group-gone' ? REASONS.WORKLOAD_GROUP_DELETED : repair.reason === REASONS.ADDRESS_IN_USE ? REASONS.ADDRESS_IN_USE : REASONS.POLICY_REVOKED;
      await deps.enrollments.putReconciled({ ...base, phase: 'rejected', reason, detail: `was ${record?.phase ?? 'in the mesh'}; now ${repair.reason}: ${repair.why}`, entryName: undefined, entryUid: undefined, policy: undefined, rule: undefined, ...marks }, fence);
      return;
    }
    case 'orphaned':
    case 'stale-record': {
      await removeTaskEntries({ taskId, taskArn }, undefined, deps);
      // Without a record and without ECS's version there is nothing to fence a tombstone with:
      // the entry goes, and the task's own events (if any ever come) decide.
      if (!record && target.ecs.state === 'unknown') return;
      await deps.enrollments.putReconciled(
        { ...base, phase: 'deregistered', reason: REASONS.TASK_GONE, detail: `${repair.why}; removed by the reconciler`, entryName: undefined, entryUid: undefined, expiresAt: Math.floor(now.getTime() / 1000) + deps.tombstoneTtlSeconds, ...marks },
        fence,
      );
      return;
    }
    case 'unwatched': {
      await removeTaskEntries({ taskId, taskArn }, undefined, deps);
      if (!record) return;
      // Rejected, not a tombstone: should ecsClusters name the cluster again, a running task is
      // enrolled again. Its events no longer reach us, so the record expires as a tombstone does.
      await deps.enrollments.putReconciled(
        { ...base, phase: 'rejected', reason: REASONS.CLUSTER_NOT_WATCHED, detail: `was ${record.phase}; ${repair.why}; removed by the reconciler`, entryName: undefined, entryUid: undefined, policy: undefined, rule: undefined, expiresAt: Math.floor(now.getTime() / 1000) + deps.tombstoneTtlSeconds, ...marks },
        fence,
      );
      return;
    }
    default: {
      const unreachable: never = repair;
      throw new Error(`unknown repair ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Server-side apply never removes a field another manager set (a hand edit adding `weight`,
 * say): when the applied entry still differs, it is re-created, under the same ownership checks
 * and delete preconditions as any removal.
 */
async function applyConverged(entry: WorkloadEntry, taskArn: string, deps: ReconcileDeps): Promise<WorkloadEntry> {
  const applied = await deps.mesh.applyWorkloadEntry(entry);
  if (!entryDrift(entry, applied)) return applied;
  deps.log.warn('entry has fields another manager set; re-creating it', { entry: `${entry.metadata.namespace}/${entry.metadata.name}`, drift: entryDrift(entry, applied) });
  await removeTaskEntries({ taskId: entry.metadata.labels?.[TASK_ID_LABEL] ?? '', taskArn }, { entryName: entry.metadata.name, namespace: entry.metadata.namespace }, deps);
  return deps.mesh.applyWorkloadEntry(entry);
}

function baseRecord({ taskId, taskArn, task, record, fence }: RepairTarget, at: string): EnrollmentRecord {
  const clusterArn = task?.clusterArn ?? record?.clusterArn ?? '';
  return {
    ...record,
    // Decided afresh by the repair: only an entry it applies now carries task labels.
    droppedLabels: undefined,
    taskId,
    taskArn,
    clusterArn,
    clusterName: clusterNameFromArn(clusterArn) ?? record?.clusterName ?? '',
    version: fence,
    phase: record?.phase ?? 'pending',
    reason: record?.reason ?? REASONS.TASK_STARTING,
    detail: record?.detail ?? '',
    lastStatus: task?.lastStatus ?? record?.lastStatus ?? 'UNKNOWN',
    desiredStatus: task?.desiredStatus ?? record?.desiredStatus ?? 'UNKNOWN',
    updatedAt: at,
  };
}

/**
 * DescribeTasks per cluster in batches of 100, at most `describeCallsPerSecond`, backing off on
 * throttling. A cluster ECS did not list (deleted, or a member account's, read through a role that
 * may be missing) costs only its own tasks when it cannot be read: they are `failed`, the pass goes on.
 */
async function describeLimited(
  tasks: TaskRef[],
  listed: ReadonlySet<string>,
  deps: ReconcileDeps,
): Promise<{ found: Map<string, EcsTaskDescription>; failed: Map<string, string> }> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const clock = deps.clock ?? Date.now;
  const byCluster = taskArnsByCluster(tasks);
  const found = new Map<string, EcsTaskDescription>();
  const failed = new Map<string, string>();
  const spacingMs = 1000 / deps.settings.describeCallsPerSecond;
  let lastCall = -Infinity;
  for (const [clusterArn, arns] of byCluster) {
    try {
      for (let i = 0; i < arns.length; i += DESCRIBE_BATCH) {
        for (let attempt = 0; ; attempt++) {
          const wait = lastCall + spacingMs - clock();
          if (wait > 0) await sleep(wait);
          lastCall = clock();
          try {
            for (const [id, task] of await deps.tasks.describeTasks(clusterArn, arns.slice(i, i + DESCRIBE_BATCH))) found.set(id, task);
            break;
          } catch (error) {
            if (!(error instanceof UpstreamThrottledError) || attempt + 1 >= THROTTLE_ATTEMPTS) throw error;
            // Exponential backoff with full jitter, as AWS recommends for throttling.
            await sleep(Math.random() * Math.min(20_000, 200 * 2 ** attempt));
          }
        }
      }
    } catch (error) {
      if (listed.has(clusterArn)) throw error;
      failed.set(clusterArn, (error as Error).message);
    }
  }
  return { found, failed };
}

/** The record's role is `roleName`, spelt in whatever case a CloudTrail event carries it. */
function isRoleOf(roleArn: string | undefined, roleName: string): boolean {
  const recorded = roleArn === undefined ? undefined : roleNameFromArn(roleArn);
  return recorded !== undefined && sameRoleName(recorded, roleName);
}
