/**
 * The enrollment store under interleaving, deterministically: a second writer (another exchange,
 * or the task's first event) is run to completion before each of the first exchange's DynamoDB
 * calls in turn, and after its last. Whatever the interleaving, a live task's token is attached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import type { EnrollmentRecord, IssuedToken } from '../../shared/core/enrollment.js';
import { interleavingClient } from '../support/interleaving-client.js';
import { Pipeline } from '../support/pipeline.js';

let p: Pipeline;
beforeAll(async () => {
  p = await Pipeline.start('-races');
});
afterAll(() => p.stop());

const token = (jti: string): IssuedToken => ({ jti, issuedAt: '2026-12-01T00:00:00.000Z', expiresAt: '2026-12-01T01:00:00.000Z', kid: 'k1' });
const taskOf = (taskId: string) => ({ taskId, taskArn: `arn:aws:ecs:us-east-1:123456789012:task/prod/${taskId}`, clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod', clusterName: 'prod' });

/** A store whose client runs `other` to completion just before its `at`-th call (or after its last). */
function storeInterleaving(at: number, other: () => Promise<unknown>) {
  const { client, ran } = interleavingClient(p.clients.dynamo, at, other);
  return { store: new DynamoDbEnrollmentStore(client, p.stack.enrollmentTable), finish: async () => ran() || (await other()) };
}

const pendingEvent = (taskId: string): EnrollmentRecord => ({ ...taskOf(taskId), version: 1, phase: 'pending', reason: 'TASK_STARTING', detail: 'starting', lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', updatedAt: new Date().toISOString() });

describe('attachToken racing another writer', () => {
  const plain = () => new DynamoDbEnrollmentStore(p.clients.dynamo, p.stack.enrollmentTable);
  const writers = {
    'another exchange': (taskId: string) => plain().attachToken(taskOf(taskId), token('other'), new Date()),
    "the task's first event": (taskId: string) => plain().put(pendingEvent(taskId)),
  };

  for (const [name, write] of Object.entries(writers)) {
    for (const at of [0, 1, 2, 3]) {
      it(`attaches the token for a new task when ${name} lands before call ${at}`, async () => {
        const taskId = `race${at}${name.length}${Date.now().toString(36)}`;
        const { store, finish } = storeInterleaving(at, () => write(taskId));

        const attached = await store.attachToken(taskOf(taskId), token('mine'), new Date());
        await finish();

        expect(attached).toBe(true);
        const record = await plain().get(taskId);
        expect(record?.phase).toBe('pending');
        expect(record?.onboardingToken?.jti).toEqual(name === 'another exchange' ? expect.stringMatching(/^(mine|other)$/) : 'mine');
      });
    }
  }

  it('creates a version-0 pending record the first event supersedes', async () => {
    const taskId = `fresh${Date.now().toString(36)}`;
    expect(await plain().attachToken(taskOf(taskId), token('t'), new Date())).toBe(true);
    expect(await plain().get(taskId)).toMatchObject({ version: 0, phase: 'pending', taskArn: taskOf(taskId).taskArn, onboardingToken: { jti: 't' } });

    await plain().put({ ...pendingEvent(taskId), version: 2, phase: 'enrolled', reason: 'POLICY_ALLOWED', lastStatus: 'RUNNING' });

    expect(await plain().get(taskId)).toMatchObject({ version: 2, phase: 'enrolled', lastStatus: 'RUNNING', onboardingToken: { jti: 't' } });
  });

  it('keeps the live fields of an existing record when attaching', async () => {
    const taskId = `live${Date.now().toString(36)}`;
    await plain().put({ ...pendingEvent(taskId), version: 3, phase: 'enrolled', reason: 'POLICY_ALLOWED', lastStatus: 'RUNNING', entryName: 'ratings-x' });

    expect(await plain().attachToken(taskOf(taskId), token('t'), new Date())).toBe(true);

    expect(await plain().get(taskId)).toMatchObject({ version: 3, phase: 'enrolled', entryName: 'ratings-x', onboardingToken: { jti: 't' } });
  });

  it.each(['draining', 'deregistered'] as const)('refuses to attach to a %s tombstone', async (phase) => {
    const taskId = `${phase}${Date.now().toString(36)}`;
    await plain().put({ ...pendingEvent(taskId), version: 5, phase, reason: 'TASK_STOPPED', lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });

    expect(await plain().attachToken(taskOf(taskId), token('t'), new Date())).toBe(false);
    expect((await plain().get(taskId))?.onboardingToken).toBeUndefined();
  });
});
