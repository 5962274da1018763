/**
 * The exchange's guard state in one DynamoDB table (pk `key`, TTL on `expiresAt`):
 * - `replay#<digest>`: a signature is claimed with a conditional put, so it is used once however
 *   many Lambdas see it;
 * - `fail#source#<ip>#<window>`: failed verifications from one address, read before STS and
 *   incremented only when a request fails, so a fleet behind one NAT address is not one hot item
 *   written on every exchange;
 * - `fail#account#<account>#<window>`: the same for callers STS proved to be roles of one account,
 *   with each such role's own count in an attribute named by its role ARN, so the account's and
 *   its roles' counts are one read and one write (at most the account's limit of roles a window);
 * - `rate#task#<session>#<window>`: proven requests of one STS session, incremented atomically.
 * The claim and the reads go out together: one round trip before STS, and no transaction, which
 * would conflict with every other one on the item a busy NAT address (or account) shares.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Admission, ExchangeGuard, FailureSubject } from '../ports.js';
import { isConditionFailure, translateAwsError } from './aws-errors.js';

const windowOf = (now: Date, windowSeconds: number) => Math.floor(now.getTime() / 1000 / windowSeconds);

export class DynamoDbExchangeGuard implements ExchangeGuard {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async admit(request: Parameters<ExchangeGuard['admit']>[0], now: Date): Promise<Admission> {
    const window = windowOf(now, request.windowSeconds);
    const { account } = request;
    const [claimed, fromSource, ofAccount] = await Promise.all([
      this.claimSignature(request.replayKey, request.keepUntil),
      this.readFailures(failureKey({ source: request.source }, window)),
      account && this.readFailures(accountKey(account.id, window)),
    ]);
    if (fromSource.count >= request.failureLimit) return { verdict: 'source-limited' };
    if (!claimed) return { verdict: 'replayed' };
    if (!account || !ofAccount) return { verdict: 'admitted', limitedRoles: new Set() };
    if (ofAccount.count >= account.failureLimit) return { verdict: 'account-limited' };
    return { verdict: 'admitted', limitedRoles: new Set(Object.keys(ofAccount.byRole).filter((role) => ofAccount.byRole[role]! >= account.roleFailureLimit)) };
  }

  async countFailure(subject: FailureSubject, windowSeconds: number, now: Date): Promise<void> {
    const window = windowOf(now, windowSeconds);
    await this.client
      .send(new UpdateCommand({ TableName: this.tableName, Key: { key: failureKey(subject, window) }, ...counting(window, windowSeconds, undefined, 'roleArn' in subject ? subject.roleArn : undefined) }))
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

  /** A failure counter's total and, on an account's, each role's count (the attributes named `arn:…`). */
  private async readFailures(key: string): Promise<{ count: number; byRole: Record<string, number> }> {
    const out = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: { key }, ConsistentRead: true }))
      .catch((error: unknown) => translateAwsError(error, 'dynamodb:GetItem (failed verifications)'));
    const item = out.Item ?? {};
    const byRole = Object.fromEntries(Object.entries(item).filter(([name]) => name.startsWith('arn:')).map(([name, count]) => [name, Number(count)]));
    return { count: Number(item.count ?? 0), byRole };
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

const accountKey = (account: string, window: number) => `fail#account#${account}#${window}`;
const failureKey = (subject: FailureSubject, window: number) => ('source' in subject ? `fail#source#${subject.source}#${window}` : accountKey(subject.account, window));

/**
 * One more in the window's counter (only below `limit`, when given), and in its `alsoCounted`
 * attribute when given, expiring a window after it ends.
 */
function counting(window: number, windowSeconds: number, limit?: number, alsoCounted?: string) {
  return {
    UpdateExpression: `ADD #count :one${alsoCounted ? ', #also :one' : ''} SET expiresAt = if_not_exists(expiresAt, :expires)`,
    ExpressionAttributeNames: { '#count': 'count', ...(alsoCounted ? { '#also': alsoCounted } : {}) },
    ExpressionAttributeValues: { ':one': 1, ':expires': (window + 2) * windowSeconds, ...(limit === undefined ? {} : { ':limit': limit }) },
    ...(limit === undefined ? {} : { ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit' }),
  };
}
