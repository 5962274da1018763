/**
 * Address claims in the enrollment table (docs/architecture.md#networks): one item per address of
 * a network, keyed `address#<network>#<address>` (no task id holds a `#`), naming its holder. A
 * claim is taken with one conditional UpdateItem: when absent, when the task's own, or when the
 * claim it replaces (holder and claimedAt) is the one seen and judged stale (claimHolds) from the
 * holder's own record in the same table. So of two tasks claiming at once, the second write fails
 * its condition and sees the winner.
 */
import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Phase } from '../core/enrollment.js';
import { claimHolds, type AddressHolder, type NetworkAddress } from '../core/networks.js';
import type { AddressClaims } from '../ports.js';
import { isConditionFailure, translateAwsError } from './aws-errors.js';
import { conditionFailureItem } from './dynamodb-condition-failure.js';

/** A claim that changed between its read and our write is read again; more than this means a storm of claimants. */
const CLAIM_ATTEMPTS = 3;

const CLAIM_KEY_PREFIX = 'address#';

export const addressClaimKey = ({ network, address }: NetworkAddress): string => `${CLAIM_KEY_PREFIX}${network}#${address}`;

/** Whether an item of the enrollment table is an address claim, not a task's record (for whatever reads the whole table). */
export const isAddressClaimKey = (key: string): boolean => key.startsWith(CLAIM_KEY_PREFIX);

export class DynamoDbAddressClaims implements AddressClaims {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async heldByAnother(at: NetworkAddress, taskId: string, now: Date): Promise<AddressHolder | undefined> {
    const holder = await this.holderOf(at);
    return holder && holder.taskId !== taskId && (await this.holds(holder, now)) ? holder : undefined;
  }

  /**
   * Writes first, reads only when that fails: the common claim (a free address, or the task's own)
   * costs one UpdateItem. A failed condition returns the claim that stands (ALL_OLD); a stale one
   * is then replaced only as it was read (holder and claimedAt), so its holder renewing it, or
   * another task taking it, in between makes the write fail again.
   */
  async claim(at: NetworkAddress, task: Pick<AddressHolder, 'taskId' | 'taskArn'>, now: Date): Promise<AddressHolder | undefined> {
    let stale: AddressHolder | undefined;
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const standing = await this.write(at, task, now, stale);
      if (standing === 'written') return undefined;
      stale = undefined;
      // Gone meanwhile, or our own after all (renewed by a concurrent enrollment of this task): write again.
      if (standing === undefined || standing.taskId === task.taskId) continue;
      if (await this.holds(standing, now)) return standing;
      stale = standing;
    }
    // Still contested: whoever holds it now keeps it, and this task is refused (the reconciler asks again).
    const holder = await this.holderOf(at);
    return holder?.taskId === task.taskId ? undefined : (holder ?? { taskId: '(contested)', taskArn: '(contested)', claimedAt: now.toISOString() });
  }

  /** One conditional write of the claim: `written`, or the claim that stands in its way (none: it was deleted meanwhile). */
  private async write(at: NetworkAddress, task: Pick<AddressHolder, 'taskId' | 'taskArn'>, now: Date, stale: AddressHolder | undefined): Promise<'written' | AddressHolder | undefined> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { taskId: addressClaimKey(at) },
          UpdateExpression: 'SET #holder = :holder, #holderArn = :holderArn, #claimedAt = :claimedAt, #network = :network, #address = :address',
          ConditionExpression: stale ? '#holder = :replaced AND #claimedAt = :seenAt' : 'attribute_not_exists(#holder) OR #holder = :holder',
          ExpressionAttributeNames: { '#holder': 'holderTaskId', '#holderArn': 'holderTaskArn', '#claimedAt': 'claimedAt', '#network': 'network', '#address': 'address' },
          ExpressionAttributeValues: {
            ':holder': task.taskId, ':holderArn': task.taskArn, ':claimedAt': now.toISOString(), ':network': at.network, ':address': at.address,
            ...(stale ? { ':replaced': stale.taskId, ':seenAt': stale.claimedAt } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'written';
    } catch (error) {
      if (!isConditionFailure(error)) return translateAwsError(error, 'UpdateItem');
      const item = conditionFailureItem(error);
      const taskId = item?.holderTaskId;
      return typeof taskId === 'string' ? { taskId, taskArn: String(item?.holderTaskArn ?? ''), claimedAt: String(item?.claimedAt ?? '') } : undefined;
    }
  }

  async release(at: NetworkAddress, taskId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { taskId: addressClaimKey(at) },
          ConditionExpression: '#holder = :taskId',
          ExpressionAttributeNames: { '#holder': 'holderTaskId' },
          ExpressionAttributeValues: { ':taskId': taskId },
        }),
      );
    } catch (error) {
      // Absent, or another task's: nothing of ours to give up.
      if (!isConditionFailure(error)) translateAwsError(error, 'DeleteItem');
    }
  }

  private async holderOf(at: NetworkAddress): Promise<AddressHolder | undefined> {
    const out = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: { taskId: addressClaimKey(at) }, ConsistentRead: true }))
      .catch((e: unknown) => translateAwsError(e, 'GetItem'));
    const item = out.Item as { holderTaskId?: string; holderTaskArn?: string; claimedAt?: string } | undefined;
    return item?.holderTaskId ? { taskId: item.holderTaskId, taskArn: item.holderTaskArn ?? '', claimedAt: item.claimedAt ?? '' } : undefined;
  }

  /** Whether the holder's claim still holds, from its enrollment record's phase (claimHolds). */
  private async holds(holder: AddressHolder, now: Date): Promise<boolean> {
    const out = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: { taskId: holder.taskId }, ProjectionExpression: '#phase', ExpressionAttributeNames: { '#phase': 'phase' }, ConsistentRead: true }))
      .catch((e: unknown) => translateAwsError(e, 'GetItem'));
    return claimHolds(holder, (out.Item as { phase?: Phase } | undefined)?.phase, now);
  }
}
