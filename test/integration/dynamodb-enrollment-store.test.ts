import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchGetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backfillRepairKind } from '../../scripts/backfill-enrollment-indexes.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import type { IssuedToken } from '../../shared/core/enrollment.js';
import { aRecord } from '../fixtures/builders.js';
import { VersionConflictError } from '../../shared/errors.js';
import { recordThatWon } from '../../shared/app/record-enrollment.js';
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
  describe('Method: put (a lost write)', () => {
    it('refuses an older version with the record that won, read from the refusal itself (no second read)', async () => {
      const store = new DynamoDbEnrollmentStore(p.clients.dynamo, p.stack.enrollmentTable);
      await store.put(aRecord({ taskId: 'lost-write', phase: 'draining', version: 5, droppedLabels: [{ key: 'a', reason: 'TASK_LABEL_RESERVED_PREFIX' }] }));

      const refusal = await store.put(aRecord({ taskId: 'lost-write', phase: 'enrolled', version: 3 })).catch((e: unknown) => e);

      expect(refusal).toBeInstanceOf(VersionConflictError);
      expect((refusal as VersionConflictError).stored).toMatchObject({ taskId: 'lost-write', phase: 'draining', version: 5, droppedLabels: [{ key: 'a', reason: 'TASK_LABEL_RESERVED_PREFIX' }] });
      expect(await recordThatWon(refusal as VersionConflictError, 'lost-write', { enrollments: { get: () => Promise.reject(new Error('read again')) } as never })).toMatchObject({ phase: 'draining', version: 5 });
    });
  });

  describe('Method: getMany', () => {
    /** The real client, but DynamoDB's answers to the first `throttledRounds` BatchGetItems keep keys back (a throttle moto cannot produce): all but one the first time, all of them after. */
    function throttlingClient(throttledRounds: number): { client: DynamoDBDocumentClient; rounds: () => number } {
      let rounds = 0;
      const real = p.clients.dynamo;
      const client = {
        send: async (command: unknown) => {
          if (!(command instanceof BatchGetCommand)) return real.send(command as BatchGetCommand);
          rounds++;
          const [table, request] = Object.entries(command.input.RequestItems!)[0]!;
          if (rounds > throttledRounds) return real.send(command);
          const served = rounds === 1 ? request.Keys!.slice(0, 1) : [];
          const out = served.length ? await real.send(new BatchGetCommand({ RequestItems: { [table]: { ...request, Keys: served } } })) : { Responses: { [table]: [] } };
          return { ...out, UnprocessedKeys: { [table]: { ...request, Keys: request.Keys!.slice(served.length) } } };
        },
      } as unknown as DynamoDBDocumentClient;
      return { client, rounds: () => rounds };
    }

    it('asks again for the keys DynamoDB left unprocessed, after a jittered back-off, and returns every record', async () => {
      const seed = new DynamoDbEnrollmentStore(p.clients.dynamo, p.stack.enrollmentTable);
      const ids = ['many-1', 'many-2', 'many-3'];
      for (const taskId of ids) await seed.put(aRecord({ taskId, phase: 'enrolled', version: 1 }));
      const waits: number[] = [];
      const { client, rounds } = throttlingClient(2);
      const store = new DynamoDbEnrollmentStore(client, p.stack.enrollmentTable, async (ms) => void waits.push(ms), () => 0.99);

      const records = await store.getMany(ids);

      expect([...records.keys()].sort()).toEqual(ids);
      expect(rounds()).toBe(3);
      expect(waits).toEqual([49, 99]);
    });

    it('fails as throttled, naming what is unread, rather than return a partial map', async () => {
      const seed = new DynamoDbEnrollmentStore(p.clients.dynamo, p.stack.enrollmentTable);
      for (const taskId of ['part-1', 'part-2']) await seed.put(aRecord({ taskId, phase: 'enrolled', version: 1 }));
      const { client, rounds } = throttlingClient(Infinity);
      const store = new DynamoDbEnrollmentStore(client, p.stack.enrollmentTable, async () => undefined);

      await expect(store.getMany(['part-1', 'part-2'])).rejects.toMatchObject({ code: 'UPSTREAM_THROTTLED', retryable: true, message: 'BatchGetItem left 1 of 2 enrollment records unread after 5 attempts' });
      expect(rounds()).toBe(5);
    });
  });

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
