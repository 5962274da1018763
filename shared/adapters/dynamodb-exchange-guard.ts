/**
 * Replay markers and rate-limit counters in one DynamoDB table (pk `key`, TTL on `expiresAt`).
 * A signature is claimed with a conditional put, so it is used once however many Lambdas see
 * it; a counter is one item per key and window, incremented atomically.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExchangeGuard } from '../ports.js';
import { translateAwsError } from './aws-errors.js';

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

export class DynamoDbExchangeGuard implements ExchangeGuard {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claimSignature(replayKey: string, keepUntil: Date): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { key: `replay#${replayKey}`, expiresAt: Math.ceil(keepUntil.getTime() / 1000) },
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': 'key' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      return translateAwsError(error, 'dynamodb:PutItem (replay marker)');
    }
  }

  async withinLimit(key: string, limit: number, windowSeconds: number, now: Date): Promise<boolean> {
    const window = Math.floor(now.getTime() / 1000 / windowSeconds);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { key: `rate#${key}#${window}` },
          UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': (window + 2) * windowSeconds },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      return translateAwsError(error, 'dynamodb:UpdateItem (rate limit)');
    }
  }
}
