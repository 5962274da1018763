import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
