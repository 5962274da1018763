/**
 * The policy API's side of the policy table, and the audit trail in its own table
 * (pk `policy` = `<namespace>/<name>`, sk `revision`). Every change writes the policy item and
 * its audit entry in one transaction, conditional on the revision the caller read, so two
 * operators can never both win and no change goes unaudited.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PolicyConflictError } from '../errors.js';
import type { PolicyAdminStore, PolicyChange, PolicyRecord, PolicyWrite } from '../ports.js';
import { translateAwsError } from './aws-errors.js';
import { queryNamespace, toStoredPolicy, type StoredPolicyItem } from './dynamodb-policy-store.js';

interface PolicyItem extends StoredPolicyItem {
  updatedAt?: string;
  updatedBy?: string;
}

interface AuditItem {
  policy: string;
  revision: number;
  action: PolicyChange['action'];
  actor: string;
  at: string;
  before?: string;
  after?: string;
}

export class DynamoDbPolicyAdminStore implements PolicyAdminStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly policyTable: string,
    private readonly auditTable: string,
  ) {}

  async get(namespace: string, name: string): Promise<PolicyRecord | undefined> {
    const out = await this.client
      .send(new GetCommand({ TableName: this.policyTable, Key: { namespace, name }, ConsistentRead: true }))
      .catch((e: unknown) => translateAwsError(e, 'dynamodb:GetItem'));
    return out.Item ? toRecord(out.Item as PolicyItem) : undefined;
  }

  async list(namespace: string): Promise<PolicyRecord[]> {
    // Consistent: an operator listing right after a write sees it.
    return (await queryNamespace<PolicyItem>(this.client, this.policyTable, namespace, true)).map(toRecord);
  }

  async write(change: PolicyWrite): Promise<number> {
    const revision = change.expected === 'absent' ? (await this.lastAuditedRevision(change.namespace, change.name)) + 1 : change.expected + 1;
    const at = change.at.toISOString();
    const key = { namespace: change.namespace, name: change.name };
    const precondition: { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } =
      change.expected === 'absent'
        ? { ConditionExpression: 'attribute_not_exists(#ns)', ExpressionAttributeNames: { '#ns': 'namespace' } }
        : { ConditionExpression: '#rev = :expected', ExpressionAttributeNames: { '#rev': 'revision' }, ExpressionAttributeValues: { ':expected': change.expected } };
    const policyWrite = change.after
      ? { Put: { TableName: this.policyTable, Item: { ...key, revision, document: JSON.stringify(change.after), updatedAt: at, updatedBy: change.actor }, ...precondition } }
      : { Delete: { TableName: this.policyTable, Key: key, ...precondition } };
    const audit: AuditItem = {
      policy: auditKey(change.namespace, change.name),
      revision,
      action: change.after === null ? 'delete' : change.expected === 'absent' ? 'create' : 'update',
      actor: change.actor,
      at,
      ...(change.before !== undefined && change.before !== null ? { before: JSON.stringify(change.before) } : {}),
      ...(change.after ? { after: JSON.stringify(change.after) } : {}),
    };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            policyWrite,
            // A revision is audited once: this also stops two creates racing after a delete.
            { Put: { TableName: this.auditTable, Item: audit, ConditionExpression: 'attribute_not_exists(#rev)', ExpressionAttributeNames: { '#rev': 'revision' } } },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException || (error as { name?: string }).name === 'TransactionCanceledException') {
        const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
        if (reasons.length === 0 || reasons.some((r) => r.Code === 'ConditionalCheckFailed'))
          throw new PolicyConflictError(`policy ${change.namespace}/${change.name} changed since revision ${change.expected}`, { cause: error });
      }
      translateAwsError(error, 'dynamodb:TransactWriteItems');
    }
    return revision;
  }

  async history(namespace: string, name: string, limit: number): Promise<PolicyChange[]> {
    const out = await this.client
      .send(
        new QueryCommand({
          TableName: this.auditTable,
          KeyConditionExpression: '#p = :p',
          ExpressionAttributeNames: { '#p': 'policy' },
          ExpressionAttributeValues: { ':p': auditKey(namespace, name) },
          ScanIndexForward: false,
          Limit: limit,
        }),
      )
      .catch((e: unknown) => translateAwsError(e, 'dynamodb:Query'));
    return ((out.Items ?? []) as AuditItem[]).map((item) => ({
      revision: Number(item.revision),
      action: item.action,
      actor: item.actor,
      at: item.at,
      before: parseOrNull(item.before),
      after: parseOrNull(item.after),
    }));
  }

  /** Revisions continue across a delete, so an ETag read before the delete never matches the new policy. */
  private async lastAuditedRevision(namespace: string, name: string): Promise<number> {
    const [latest] = await this.history(namespace, name, 1);
    return latest?.revision ?? 0;
  }
}

const auditKey = (namespace: string, name: string) => `${namespace}/${name}`;

function toRecord(item: PolicyItem): PolicyRecord {
  return {
    namespace: item.namespace,
    name: item.name,
    revision: Number(item.revision ?? 0),
    updatedAt: item.updatedAt ?? '',
    updatedBy: item.updatedBy ?? '',
    stored: toStoredPolicy(item),
    document: parseOrNull(item.document),
  };
}

function parseOrNull(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
