/**
 * NameAddressBook in the enrollment table (docs/architecture.md#mesh-names): one item, keyed
 * `mesh-names#addresses` (no task id holds a `#`), holding every host's address and a revision.
 * A pass reads it with one GetItem and writes all its allocations, or frees, with one PutItem
 * conditioned on the revision it read: two writers at one revision cannot both succeed, so no
 * address is ever handed to two services. Freed addresses stay in it a while (`released`, see
 * RELEASE_QUARANTINE_MS). The item has no `phase`, so no enrollment index holds it.
 * At about 70 bytes a name, DynamoDB's 400 KB item holds some 5,000 names.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { NameAddressBook, NameAddresses } from '../ports.js';
import { isConditionFailure, translateAwsError } from './aws-errors.js';

const NAME_ADDRESSES_KEY = 'mesh-names#addresses';

/** Whether an item of the enrollment table is the names' address book, not a task's record (for whatever reads the whole table). */
export const isNameAddressesKey = (key: string): boolean => key === NAME_ADDRESSES_KEY;

export class DynamoDbNameAddressBook implements NameAddressBook {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<NameAddresses> {
    const out = await this.client
      .send(new GetCommand({ TableName: this.tableName, Key: { taskId: NAME_ADDRESSES_KEY }, ConsistentRead: true }))
      .catch((e: unknown) => translateAwsError(e, 'GetItem'));
    const item = out.Item as { revision?: number; addresses?: Record<string, string>; released?: Record<string, string> } | undefined;
    return { revision: Number(item?.revision ?? 0), addresses: new Map(Object.entries(item?.addresses ?? {})), released: new Map(Object.entries(item?.released ?? {})) };
  }

  async write({ addresses, released }: Omit<NameAddresses, 'revision'>, revision: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { taskId: NAME_ADDRESSES_KEY, revision: revision + 1, addresses: Object.fromEntries(addresses), released: Object.fromEntries(released) },
          ConditionExpression: revision === 0 ? 'attribute_not_exists(taskId)' : '#revision = :revision',
          ...(revision === 0 ? {} : { ExpressionAttributeNames: { '#revision': 'revision' }, ExpressionAttributeValues: { ':revision': revision } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      return translateAwsError(error, 'PutItem');
    }
  }
}
