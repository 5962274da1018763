/**
 * The exchange's guard state in one DynamoDB table (pk `key`, TTL on `expiresAt`):
 * - `replay#<digest>`: a signature is claimed with a conditional put, so it is used once however
 *   many Lambdas see it;
 * - `fail#source#<ip>#<window>`: failed verifications from one address, read before STS and
 *   incremented only when a request fails, so a fleet behind one NAT address is not one hot item
 *   written on every exchange;
 * - `rate#task#<session>#<window>`: proven requests of one STS session, incremented atomically.
 * The claim and the read go out together: one round trip before STS, and no transaction, which
 * would conflict with every other one on the item a busy NAT address shares.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExchangeGuard } from '../ports.js';
import { isConditionFailure, translateAwsError } from './aws-errors.js';

const windowOf = (now: Date, windowSeconds: number) => Math.floor(now.getTime() / 1000 / windowSeconds);

export class DynamoDbExchangeGuard implements ExchangeGuard {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async admit(request: { replayKey: string; keepUntil: Date; source: string; failureLimit: number; windowSeconds: number }, now: Date): Promise<'admitted' | 'replayed' | 'source-limited'> {
    const [claimed, failures] = await Promise.all([
      this.claimSignature(request.replayKey, request.keepUntil),
      this.client
        .send(new GetCommand({ TableName: this.tableName, Key: { key: failureKey(request.source, windowOf(now, request.windowSeconds)) }, ConsistentRead: true }))
        .then((out) => Number(out.Item?.count ?? 0), (error: unknown) => translateAwsError(error, 'dynamodb:GetItem (failed verifications)')),
    ]);
    if (failures >= request.failureLimit) return 'source-limited';
    return claimed ? 'admitted' : 'replayed';
  }

  async countFailure(source: string, windowSeconds: number, now: Date): Promise<void> {
    const window = windowOf(now, windowSeconds);
    await this.client
      .send(new UpdateCommand({ TableName: this.tableName, Key: { key: failureKey(source, window) }, ...counting(window, windowSeconds) }))
      .catch((error: unknown) => translateAwsError(error, 'dynamodb:UpdateItem (failed verifications)'));
  }

  async withinLimit(key: string, limit: number, windowSeconds: number, now: Date): Promise<boolean> {
    const window = windowOf(now, windowSeconds);
    try {
      await this.client.send(new UpdateCommand({ TableName: this.tableName, Key: { key: `rate#${key}#${window}` }, ...counting(window, windowSeconds, limit) }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      return translateAwsError(error, 'dynamodb:UpdateItem (rate limit)');
    }
  }

  private async claimSignature(replayKey: string, keepUntil: Date): Promise<boolean> {
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
}

const failureKey = (source: string, window: number) => `fail#source#${source}#${window}`;

/** One more in the window's counter (only below `limit`, when given), expiring a window after it ends. */
function counting(window: number, windowSeconds: number, limit?: number) {
  return {
    UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)',
    ExpressionAttributeNames: { '#count': 'count' },
    ExpressionAttributeValues: { ':one': 1, ':expires': (window + 2) * windowSeconds, ...(limit === undefined ? {} : { ':limit': limit }) },
    ...(limit === undefined ? {} : { ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit' }),
  };
}
