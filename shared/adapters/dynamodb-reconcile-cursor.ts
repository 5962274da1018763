/** The reconciler's cursor: one item in the auth table (pk `key`), so a pass spans invocations. */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReconcileCursorStore } from '../ports.js';
import { translateAwsError } from './aws-errors.js';

const KEY = 'reconcile#cursor';

export class DynamoDbReconcileCursor implements ReconcileCursorStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(): Promise<string | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { key: KEY }, ConsistentRead: true })).catch((e: unknown) => translateAwsError(e, 'dynamodb:GetItem (reconcile cursor)'));
    const after = (out.Item as { after?: unknown } | undefined)?.after;
    return typeof after === 'string' ? after : undefined;
  }

  async save(afterTaskId: string | undefined): Promise<void> {
    await this.client
      .send(new PutCommand({ TableName: this.tableName, Item: { key: KEY, ...(afterTaskId ? { after: afterTaskId } : {}) } }))
      .catch((e: unknown) => translateAwsError(e, 'dynamodb:PutItem (reconcile cursor)'));
  }
}
