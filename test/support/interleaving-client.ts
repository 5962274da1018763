/**
 * A DynamoDB client that runs `other` to completion just before its `at`-th call: one
 * interleaving of two writers, made deterministic. moto does not make concurrent conditional
 * writes atomic as DynamoDB does, so races are tested in every order instead of at once.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function interleavingClient(real: DynamoDBDocumentClient, at: number, other: () => Promise<unknown>): { client: DynamoDBDocumentClient; ran: () => boolean } {
  let calls = 0;
  let ran = false;
  const client = {
    send: async (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
      if (calls++ === at) {
        ran = true;
        await other();
      }
      return real.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, ran: () => ran };
}
