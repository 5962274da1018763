/**
 * One task's steps (shared/app/enroll-running-task.ts, drain-task.ts) on in-memory ports: the
 * entry applied and recorded, fenced by the event's version; a stop that wins the record's race
 * undoing the apply; tombstones; address claims taken and released; entries that are not ours left
 * alone. The batch around them (DescribeTasks, throttling) is test/unit/enroll-tasks.test.ts's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { drainTask, keepContradictedTask, removeTaskEntries } from '../../shared/app/drain-task.js';
import { enrollRunningTask, prepareStartingTask } from '../../shared/app/enroll-running-task.js';
import type { EnrollmentRecord } from '../../shared/core/enrollment.js';
import { REASONS } from '../../shared/core/reasons.js';
import { ANNOTATIONS } from '../../shared/core/workload-entry.js';
import { MeshPreconditionError } from '../../shared/errors.js';
import { aPolicy } from '../fixtures/builders.js';
import { TASK_ARN, TASK_ID, appWorld, aRunningTask, anEventOf, type AppWorld } from '../support/app-world.js';

const ENTRY = { namespace: 'bookinfo', name: `ratings-${TASK_ID}` };
const OTHER_ID = 'fedcba9876543210fedcba9876543210';

let world: AppWorld;
beforeEach(() => {
  world = appWorld();
});

/** Runs the task's RUNNING event at `version` against the stored record. */
async function enroll(version = 3, task = aRunningTask(TASK_ID, { version })) {
  world.ecs.put(task);
  return enrollRunningTask(anEventOf(task, { version }), world.enrollments.records.get(task.taskArn.split('/').pop()!), task, world.enrollment, world.clock.now());
}

async function stop(version: number, kind: 'drain' | 'deregister' = 'deregister') {
  const event = anEventOf(aRunningTask(TASK_ID, { version }), { version, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedReason: 'Scaling activity' });
  return drainTask(kind, event, world.enrollments.records.get(TASK_ID), world.enrollment, world.clock.now());
}

describe('enrollRunningTask', () => {
  it('applies the entry, claims its address and records the task enrolled at the event version', async () => {
    const record = await enroll();

    const entry = await world.mesh.getWorkloadEntry(ENTRY);
    expect(entry?.metadata.annotations?.[ANNOTATIONS.taskArn]).toBe(TASK_ARN);
    expect(world.enrollments.records.get(TASK_ID)).toEqual(record);
    expect(record).toMatchObject({ phase: 'enrolled', reason: REASONS.POLICY_ALLOWED, version: 3, entryName: ENTRY.name, entryUid: entry?.metadata.uid, network: 'vpc-1', address: '10.0.0.7', policy: 'allow-ratings', rule: 0 });
    expect(world.addresses.claims.get('vpc-1#10.0.0.7')).toMatchObject({ taskId: TASK_ID, claimedAt: world.clock.now().toISOString() });
  });

  it('writes nothing over a newer record: the older event yields', async () => {
    await enroll(5);

    expect(await enroll(4)).toBeUndefined();
    expect(world.enrollments.records.get(TASK_ID)?.version).toBe(5);
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeDefined();
  });

  it('removes the entry it applied when a stop wins the race for the record, known from the refusal itself', async () => {
    world.enrollments.beforePut = (record) => {
      if (record.phase !== 'enrolled') return;
      world.enrollments.beforePut = undefined;
      world.enrollments.records.set(TASK_ID, { ...record, version: 4, phase: 'deregistered', reason: REASONS.TASK_STOPPED });
    };
    // The refusal carries the record that won (DynamoDB's ALL_OLD): no second read is needed.
    world.enrollments.get = () => Promise.reject(new Error('read after a refused write'));

    expect(await enroll(3)).toBeUndefined();

    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(world.enrollments.records.get(TASK_ID)).toMatchObject({ phase: 'deregistered', version: 4 });
  });

  it('lets a late RUNNING after the tombstone leave nothing in the mesh', async () => {
    await enroll(3);
    await stop(5);

    expect(await enroll(4)).toBeUndefined();
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(world.enrollments.records.get(TASK_ID)).toMatchObject({ phase: 'deregistered', version: 5 });
  });

  it('refuses a task whose address another live task holds (ADDRESS_IN_USE), and enrolls it once that task drained', async () => {
    const holderArn = aRunningTask(OTHER_ID).taskArn;
    await enroll(3, aRunningTask(OTHER_ID));

    const refused = await enroll(3);

    expect(refused).toMatchObject({ phase: 'rejected', reason: REASONS.ADDRESS_IN_USE, detail: expect.stringContaining(holderArn) });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();

    const holderStop = anEventOf(aRunningTask(OTHER_ID, { version: 4 }), { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
    await drainTask('deregister', holderStop, world.enrollments.records.get(OTHER_ID), world.enrollment, world.clock.now());
    expect(world.addresses.claims.has('vpc-1#10.0.0.7')).toBe(false);
    expect(await enroll(4)).toMatchObject({ phase: 'enrolled' });
  });

  it('removes the entry of a task no longer allowed and records why', async () => {
    await enroll(3);
    const policy = aPolicy({ allow: [] });
    await world.policies.write({ namespace: 'bookinfo', name: 'allow-ratings', expected: 1, before: null, after: policy, actor: 'test', at: world.clock.now() });

    const refused = await enroll(4);

    expect(refused).toMatchObject({ phase: 'rejected', reason: REASONS.POLICY_DENIED, namespace: 'bookinfo', workloadGroup: 'ratings' });
    expect(world.enrollments.records.get(TASK_ID)?.entryName).toBeUndefined();
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
  });

  it('records a task ECS no longer describes as TASK_NOT_FOUND and removes its entry', async () => {
    await enroll(3);

    const record = await enrollRunningTask(anEventOf(aRunningTask(TASK_ID, { version: 4 })), world.enrollments.records.get(TASK_ID), undefined, world.enrollment, world.clock.now());

    expect(record).toMatchObject({ phase: 'rejected', reason: REASONS.TASK_NOT_FOUND });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
  });

  it('drains a task ECS already describes as stopping, whatever the event says', async () => {
    const record = await enroll(4, aRunningTask(TASK_ID, { version: 4, desiredStatus: 'STOPPED' }));

    expect(record).toMatchObject({ phase: 'draining', reason: REASONS.TASK_STOPPING });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
  });
});

describe('prepareStartingTask', () => {
  it('records a starting task pending with its decision once, and a refusal early', async () => {
    const task = aRunningTask(TASK_ID, { version: 1, lastStatus: 'PROVISIONING' });
    const first = await prepareStartingTask(anEventOf(task), undefined, task, world.enrollment, world.clock.now());
    const pending = { ...task, version: 2, lastStatus: 'PENDING' };
    const second = await prepareStartingTask(anEventOf(pending), world.enrollments.records.get(TASK_ID), pending, world.enrollment, world.clock.now());

    expect(first).toMatchObject({ phase: 'pending', reason: REASONS.TASK_STARTING, policy: 'allow-ratings', version: 1 });
    expect(second).toBeUndefined();
    expect(world.enrollments.records.get(TASK_ID)?.version).toBe(1);

    const untagged = { ...task, taskArn: aRunningTask(OTHER_ID).taskArn, tags: {} };
    expect(await prepareStartingTask(anEventOf(untagged), undefined, untagged, world.enrollment, world.clock.now())).toMatchObject({ phase: 'ignored', reason: REASONS.NO_WORKLOAD_GROUP_TAG });
  });
});

describe('drainTask', () => {
  it('removes the entry, releases the address and writes a tombstone that expires after tombstoneTtlSeconds', async () => {
    await enroll(3);

    const record = await stop(4);

    expect(record).toMatchObject({ phase: 'deregistered', reason: REASONS.TASK_STOPPED, version: 4, expiresAt: world.clock.now().getTime() / 1000 + 60, detail: `removed bookinfo/${ENTRY.name}; stopped: Scaling activity` });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
    expect(world.addresses.claims.size).toBe(0);
  });

  it('leaves an entry that now belongs to another task alone', async () => {
    await enroll(3);
    const entry = (await world.mesh.getWorkloadEntry(ENTRY))!;
    await world.mesh.applyWorkloadEntry({ ...entry, metadata: { ...entry.metadata, annotations: { ...entry.metadata.annotations, [ANNOTATIONS.taskArn]: aRunningTask(OTHER_ID).taskArn } } });

    const record = await stop(4, 'drain');

    expect(record).toMatchObject({ phase: 'draining', detail: 'no entry to remove; stopped: Scaling activity' });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeDefined();
    expect(world.log.lines.some((l) => l.message.startsWith('entry not deleted'))).toBe(true);
  });

  it('finds the entry by its labels when the record names none (the stop came first)', async () => {
    await enroll(3);
    world.enrollments.records.delete(TASK_ID);

    expect(await stop(4)).toMatchObject({ phase: 'deregistered', detail: expect.stringContaining(`removed bookinfo/${ENTRY.name}`) });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeUndefined();
  });
});

describe('removeTaskEntries', () => {
  it('reads the entry again and retries once when its resourceVersion moved under the delete', async () => {
    await enroll(3);
    const deleteEntry = world.mesh.deleteWorkloadEntry.bind(world.mesh);
    let attempts = 0;
    world.mesh.deleteWorkloadEntry = async (ref, preconditions) => {
      if (++attempts === 1) throw new MeshPreconditionError('ResourceVersion in precondition: 1, in object: 2');
      return deleteEntry(ref, preconditions);
    };

    expect(await removeTaskEntries({ taskId: TASK_ID, taskArn: TASK_ARN }, world.enrollments.records.get(TASK_ID), world.enrollment)).toEqual([ENTRY]);
    expect(attempts).toBe(2);
  });
});

describe('keepContradictedTask', () => {
  it('keeps the entry and the decision, saying the stop was contradicted, at the event version', async () => {
    const enrolled = (await enroll(3)) as EnrollmentRecord;
    const stopEvent = anEventOf(aRunningTask(TASK_ID, { version: 4 }), { lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });

    const kept = await keepContradictedTask(stopEvent, enrolled, { verdict: 'contradicted', detail: 'ECS describes the task RUNNING', ecs: { lastStatus: 'RUNNING', desiredStatus: 'RUNNING' } }, world.enrollment, world.clock.now());

    expect(kept).toMatchObject({ phase: 'enrolled', version: 4, reason: REASONS.STOP_CONTRADICTED, detail: expect.stringContaining(`record kept as decided before: ${REASONS.POLICY_ALLOWED}`) });
    expect(await world.mesh.getWorkloadEntry(ENTRY)).toBeDefined();
  });
});
