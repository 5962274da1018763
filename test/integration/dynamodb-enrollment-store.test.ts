import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backfillRepairKind } from '../../scripts/backfill-enrollment-indexes.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import type { IssuedToken } from '../../shared/core/enrollment.js';
import { aRecord } from '../fixtures/builders.js';
import { Pipeline } from '../support/pipeline.js';

let p: Pipeline;
const NOW = new Date('2026-12-01T12:00:00.000Z');
const TOKEN: IssuedToken = { jti: 'jti-1', issuedAt: NOW.toISOString(), expiresAt: '2026-12-01T13:00:00.000Z', kid: 'kid-1' };

/** The real client, but the first UpdateItem is refused while task-events writes the task's first record. */
function racingClient(onFirstUpdate: () => Promise<void>): DynamoDBDocumentClient {
  let raced = false;
  const real = p.clients.dynamo;
  return {
    send: async (command: unknown) => {
      if (command instanceof UpdateCommand && !raced) {
        raced = true;
        const failure = await real.send(command).then(() => undefined, (error: unknown) => error);
        await onFirstUpdate();
        if (failure) throw failure;
      }
      return real.send(command as UpdateCommand);
    },
  } as unknown as DynamoDBDocumentClient;
}

beforeAll(async () => {
  p = await Pipeline.start('-enrollment-store');
});
afterAll(() => p.stop());

describe('DynamoDbEnrollmentStore', () => {
  describe('Method: attachToken', () => {
    it('attaches the token when the task-events record is written just after the first attempt was refused', async () => {
      const store = new DynamoDbEnrollmentStore(p.clients.dynamo, p.stack.enrollmentTable);
      const task = aRecord({ taskId: 'raced', phase: 'pending', version: 1 });
      const racing = new DynamoDbEnrollmentStore(racingClient(() => store.put(task)), p.stack.enrollmentTable);

      const attached = await racing.attachToken(task, TOKEN, NOW);

      expect(attached).toBe(true);
      expect((await store.get('raced'))?.onboardingToken).toEqual(TOKEN);
    });

    it('refuses to attach a token to a tombstone', async () => {
      const store = new DynamoDbEnrollmentStore(p.clients.dynamo, p.stack.enrollmentTable);
      const task = aRecord({ taskId: 'stopped', phase: 'deregistered', version: 3 });
      await store.put(task);

      const attached = await store.attachToken(task, TOKEN, NOW);

      expect(attached).toBe(false);
      expect((await store.get('stopped'))?.onboardingToken).toBeUndefined();
    });
  });
});

describe('records written before the indexes', () => {
  it('are listed by namespace, cluster and phase as they are, and by repair once backfilled', async () => {
    const at = NOW.toISOString();
    // As the store wrote a repaired record before `repairKind` existed.
    const old = aRecord({ taskId: 'old0repaired', namespace: 'legacy', clusterName: 'legacy-cluster', phase: 'rejected', reason: 'POLICY_REVOKED', lastReconciledAt: at, repair: { kind: 'group-gone', at, why: 'x' } });
    await p.clients.dynamo.send(new PutCommand({ TableName: p.stack.enrollmentTable, Item: old }));
    const store = p.deps.enrollments;
    const ids = async (filter: Parameters<typeof store.listPage>[0]) => (await store.listPage(filter, 100)).items.map((r) => r.taskId);

    expect(await ids({ namespace: 'legacy' })).toEqual(['old0repaired']);
    expect(await ids({ clusterName: 'legacy-cluster', phase: 'rejected' })).toEqual(['old0repaired']);
    expect(await ids({ repairKind: 'group-gone' })).toEqual([]);

    const first = await backfillRepairKind(p.clients.dynamo, p.stack.enrollmentTable);
    const again = await backfillRepairKind(p.clients.dynamo, p.stack.enrollmentTable);

    expect(first.updated).toBe(1);
    expect(again.updated).toBe(0);
    expect(await ids({ repairKind: 'group-gone' })).toEqual(['old0repaired']);
  });
});

describe('index keys', () => {
  it('never writes an empty string to an index key, which DynamoDB refuses (moto does not): the record is left out of that index', async () => {
    const sent: UpdateCommand[] = [];
    const capturing = { send: async (command: UpdateCommand) => (sent.push(command), {}) } as unknown as DynamoDBDocumentClient;

    await new DynamoDbEnrollmentStore(capturing, 'table').put(aRecord({ taskId: 'blank0keys', namespace: '', clusterName: '' }));

    const input = sent[0]!.input;
    expect(input.ExpressionAttributeValues).not.toHaveProperty(':namespace');
    expect(input.ExpressionAttributeValues).not.toHaveProperty(':clusterName');
    expect(input.UpdateExpression).toMatch(/REMOVE .*#namespace/);
    expect(input.UpdateExpression).toMatch(/REMOVE .*#clusterName/);
  });
});
