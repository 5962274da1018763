/**
 * The reconciler's repairs (shared/app/reconcile-tasks.ts) on in-memory ports: each repair kind
 * the judge (test/unit/reconcile-judgement.test.ts) can call for, applied through the same decision
 * and fenced writes as task-events; a stop winning the race, a dry run, a task that cannot be
 * judged, the per-pass cap and DescribeTasks' backoff on an injected sleep. What only moto and the
 * Kubernetes double show is test/integration/reconcile.test.ts's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { enrollRunningTask } from '../../shared/app/enroll-running-task.js';
import { reconcileTasks, type ReconcileOptions } from '../../shared/app/reconcile-tasks.js';
import { REASONS } from '../../shared/core/reasons.js';
import type { RepairKind } from '../../shared/core/reconcile.js';
import { UpstreamThrottledError } from '../../shared/errors.js';
import { ACCOUNT, aPolicy } from '../fixtures/builders.js';
import { TASK_ARN, TASK_ID, appWorld, aRunningTask, anEventOf, type AppWorld } from '../support/app-world.js';

const ENTRY = { namespace: 'bookinfo', name: `ratings-${TASK_ID}` };
const OTHER_ID = 'fedcba9876543210fedcba9876543210';
const STAGING = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/staging`;

let world: AppWorld;
beforeEach(async () => {
  world = appWorld();
  // The task enrolled by its RUNNING event at version 3, as task-events leaves it.
  const task = aRunningTask();
  await enrollRunningTask(anEventOf(task), undefined, task, world.enrollment, world.clock.now());
});

/** A pass an hour after the enrollment (past every grace period). */
async function pass(options: ReconcileOptions = {}) {
  world.clock.advance(3600);
  return reconcileTasks(options, world.reconcile, world.clock.now());
}

const kinds = (report: Awaited<ReturnType<typeof pass>>) => report.repairs.map((r) => `${r.kind}${r.applied ? '' : ' (not applied)'}`);
const record = () => world.enrollments.records.get(TASK_ID);
const denyAll = () => world.policies.write({ namespace: 'bookinfo', name: 'allow-ratings', expected: 1, before: null, after: aPolicy({ allow: [] }), actor: 'test', at: world.clock.now() });

describe('reconcileTasks repairs', () => {
  it('leaves an enrolled task as it is', async () => {
    const report = await pass();

    expect(report.repairs).toEqual([]);
    expect(report).toMatchObject({ tasksSeen: 1, tasksJudged: 1, complete: true });
  });

  it('missing: puts back an entry deleted by hand, and marks the record', async () => {
    world.mesh.entries.clear();

    const report = await pass();

    expect(kinds(report)).toEqual(['missing']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeDefined();
    expect(record()).toMatchObject({ phase: 'enrolled', version: 3, repair: { kind: 'missing', at: world.clock.now().toISOString() }, detail: expect.stringContaining('restored by the reconciler') });
  });

  it('drifted: re-applies an entry edited by hand', async () => {
    const entry = (await world.mesh.getWorkloadEntry(ENTRY))!;
    await world.mesh.applyWorkloadEntry({ ...entry, spec: { ...entry.spec, weight: 50 } });

    const report = await pass();

    expect(kinds(report)).toEqual(['drifted']);
    expect((await world.mesh.getWorkloadEntry(ENTRY))?.spec.weight).toBe(entry.spec.weight);
    expect(record()?.repair?.kind).toBe('drifted');
  });

  it('revoked: removes the entry of a task its policy no longer allows', async () => {
    await denyAll();

    const report = await pass();

    expect(kinds(report)).toEqual(['revoked']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(record()).toMatchObject({ phase: 'rejected', reason: REASONS.POLICY_REVOKED, entryName: undefined, policy: undefined });
  });

  it('group-gone: removes the entry of a task whose WorkloadGroup was deleted', async () => {
    world.mesh.groups.clear();

    const report = await pass();

    expect(kinds(report)).toEqual(['group-gone']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(record()).toMatchObject({ phase: 'rejected', reason: REASONS.WORKLOAD_GROUP_DELETED });
  });

  it('stale-record: tombstones a record ECS no longer knows, once the grace period is over', async () => {
    world.ecs.tasks.clear();
    world.mesh.entries.clear();

    const report = await pass();

    expect(kinds(report)).toEqual(['stale-record']);
    expect(record()).toMatchObject({ phase: 'deregistered', reason: REASONS.TASK_GONE, expiresAt: world.clock.now().getTime() / 1000 + 60 });
  });

  it('orphaned: removes an entry left behind a task ECS reports stopped', async () => {
    world.ecs.put(aRunningTask(TASK_ID, { version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' }));

    // A stopped task is listed by no one but its entry and record.
    const report = await pass();

    expect(kinds(report)).toEqual(['orphaned']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(record()).toMatchObject({ phase: 'deregistered', reason: REASONS.TASK_GONE, version: 5 });
  });

  it('orphaned: removes an entry left beside a tombstone of a task ECS still lists running, and keeps the tombstone', async () => {
    const entry = (await world.mesh.getWorkloadEntry(ENTRY))!;
    world.ecs.put(aRunningTask(TASK_ID, { version: 5 }));
    world.enrollments.records.set(TASK_ID, { ...record()!, version: 4, phase: 'deregistered', reason: REASONS.TASK_STOPPED });
    world.mesh.entries.set(`${ENTRY.namespace}/${ENTRY.name}`, entry);

    expect(kinds(await pass())).toEqual(['orphaned']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(record()).toMatchObject({ phase: 'deregistered', reason: REASONS.TASK_GONE, version: 5 });
  });

  it('unwatched: removes what is left of a task of a cluster dropped from ecsClusters', async () => {
    world.reconcile.settings.clusters = ['staging'];

    const report = await pass();

    expect(kinds(report)).toEqual(['unwatched']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(record()).toMatchObject({ phase: 'rejected', reason: REASONS.CLUSTER_NOT_WATCHED, expiresAt: expect.any(Number) });
    expect(world.ecs.describeCalls).toEqual([]);
  });

  it('missing: refuses the task when another took its address since (ADDRESS_IN_USE), removing nothing of the holder', async () => {
    world.mesh.entries.clear();
    world.enrollments.records.set(TASK_ID, { ...record()!, entryName: undefined });
    await world.addresses.release({ network: 'vpc-1', address: '10.0.0.7' }, TASK_ID);
    const holder = aRunningTask(OTHER_ID);
    world.ecs.put(holder);
    // The decision reads the claim free; the holder takes it before the repair's claim.
    const heldByAnother = world.addresses.heldByAnother.bind(world.addresses);
    world.reconcile.addresses = Object.assign(Object.create(world.addresses) as typeof world.addresses, {
      heldByAnother: async (...args: Parameters<typeof heldByAnother>) => {
        const free = await heldByAnother(...args);
        if (args[1] === TASK_ID) await enrollRunningTask(anEventOf(holder), undefined, holder, world.enrollment, world.clock.now());
        return free;
      },
    });

    const report = await reconcileTasks({}, world.reconcile, world.clock.advance(3600));

    expect(report.repairs.find((r) => r.taskId === TASK_ID)).toMatchObject({ kind: 'missing', applied: true });
    expect(record()).toMatchObject({ phase: 'rejected', reason: REASONS.ADDRESS_IN_USE });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(await world.mesh.getWorkloadEntry({ namespace: 'bookinfo', name: `ratings-${OTHER_ID}` })).toBeDefined();
  });
});

describe('reconcileTasks around the repairs', () => {
  it('a dry run reports the repair and changes nothing', async () => {
    await denyAll();
    const before = structuredClone(record());

    const report = await pass({ dryRun: true });

    expect(kinds(report)).toEqual(['revoked (not applied)']);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeDefined();
    expect(record()).toEqual(before);
  });

  it('a stop that wins the race while a missing entry is put back takes the entry out again', async () => {
    world.mesh.entries.clear();
    const apply = world.mesh.applyWorkloadEntry.bind(world.mesh);
    world.mesh.applyWorkloadEntry = async (entry) => {
      world.enrollments.records.set(TASK_ID, { ...record()!, version: 4, phase: 'deregistered', reason: REASONS.TASK_STOPPED });
      return apply(entry);
    };

    const report = await pass();

    expect(report.repairs).toMatchObject([{ kind: 'missing', applied: false, error: 'a newer event was applied first; it wins' }]);
    expect(world.mesh.entries.size).toBe(0);
    expect(record()).toMatchObject({ phase: 'deregistered', version: 4 });
  });

  it('reports a task whose facts cannot be read as unjudged, and repairs the others', async () => {
    const other = aRunningTask(OTHER_ID, { privateIpv4: '10.0.0.8' });
    world.ecs.put(other);
    world.mesh.entries.clear();
    const getRole = world.roles.getRole.bind(world.roles);
    let calls = 0;
    world.roles.getRole = async (arn) => {
      if (++calls === 1) throw new UpstreamThrottledError('iam:GetRole throttled');
      return getRole(arn);
    };

    const report = await pass();

    // Task ids in order: the first judged (TASK_ID, 0123…) is the one whose role read failed.
    expect(report.unjudged).toEqual([{ taskId: TASK_ID, taskArn: TASK_ARN, error: 'iam:GetRole throttled' }]);
    expect(report.repairs.map((r) => [r.taskId, r.kind])).toEqual([[OTHER_ID, 'missing']]);
  });

  it('judges at most maxTasksPerPass tasks and carries on from the cursor', async () => {
    world.ecs.put(aRunningTask(OTHER_ID, { privateIpv4: '10.0.0.8' }));
    world.reconcile.settings.maxTasksPerPass = 1;
    let saved: string | undefined;
    world.reconcile.cursor = { load: async () => saved, save: async (after) => void (saved = after) };

    const first = await pass({ useCursor: true });
    const second = await pass({ useCursor: true });

    expect(first).toMatchObject({ tasksSeen: 2, tasksJudged: 1, complete: false, repairs: [] });
    expect(second).toMatchObject({ tasksJudged: 1, complete: true });
    expect(second.repairs.map((r) => [r.taskId, r.kind])).toEqual([[OTHER_ID, 'missing']]);
    expect(saved).toBeUndefined();
  });

  it('backs off on a throttled DescribeTasks through the injected sleep, and spaces its calls', async () => {
    const waits: number[] = [];
    world.reconcile.sleep = async (ms) => void waits.push(ms);
    const describe = world.ecs.describeTasks.bind(world.ecs);
    let calls = 0;
    world.ecs.describeTasks = async (cluster, arns) => {
      if (++calls <= 2) throw new UpstreamThrottledError('ecs:DescribeTasks throttled');
      return describe(cluster, arns);
    };

    const report = await pass();

    expect(calls).toBe(3);
    expect(report.repairs).toEqual([]);
    expect(report.unjudged).toEqual([]);
    expect(waits.length).toBeGreaterThanOrEqual(2);
  });

  it("spaces DescribeTasks at describeCallsPerSecond on the injected clock, a call's own time included, without waiting for it", async () => {
    world.ecs.put(aRunningTask(OTHER_ID, { clusterArn: STAGING, taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/staging/${OTHER_ID}`, privateIpv4: '10.0.0.8' }));
    world.reconcile.settings.describeCallsPerSecond = 2;
    let ms = world.clock.now().getTime();
    const waits: number[] = [];
    world.reconcile.clock = () => ms;
    world.reconcile.sleep = async (wait) => {
      waits.push(wait);
      ms += wait;
    };
    // Each DescribeTasks takes 200 ms of that clock.
    const describe = world.ecs.describeTasks.bind(world.ecs);
    world.ecs.describeTasks = (cluster, arns) => ((ms += 200), describe(cluster, arns));

    await reconcileTasks({}, world.reconcile, world.clock.now());

    // One DescribeTasks per cluster: the second waits out what is left of the 500 ms spacing that 2/s calls for.
    expect(world.ecs.describeCalls).toHaveLength(2);
    expect(waits).toEqual([300]);
  });

  it("scopes a requested pass to a namespace's tasks, or to a role's, whatever case the role is spelt in", async () => {
    world.mesh.entries.clear();

    expect((await pass({ namespace: 'reviews' })).tasksJudged).toBe(0);
    expect((await pass({ roleName: 'reviews-task' })).repairs).toEqual([]);
    expect((await pass({ roleName: 'Ratings-Task', dryRun: true })).repairs.map((r) => r.kind)).toEqual(['missing']);
    expect((await pass({ namespace: 'bookinfo' })).repairs.map((r) => r.kind)).toEqual(['missing']);
  });

  it('counts every repair kind, zero for those not made', async () => {
    world.mesh.entries.clear();
    const report = await pass();
    const expected = { missing: 1, orphaned: 0, 'stale-record': 0, revoked: 0, drifted: 0, 'group-gone': 0, unwatched: 0 } satisfies Record<RepairKind, number>;
    expect(report.counts).toEqual(expected);
  });
});
