/**
 * Enrollment records in DynamoDB, one item per task id. Every write is conditional on the
 * event version so a stale or repeated event never overwrites a newer state, and a tombstone
 * (draining / deregistered) is never replaced by a live phase (docs/architecture.md#enrollment).
 */
import { BatchGetCommand, UpdateCommand, type BatchGetCommandOutput, GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { isTombstone, type EnrollmentRecord, type IssuedToken } from '../core/enrollment.js';
import { REASONS } from '../core/reasons.js';
import { VersionConflictError } from '../errors.js';
import type { EnrollmentFilter, EnrollmentStore } from '../ports.js';
import { translateAwsError } from './aws-errors.js';

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/** Every attribute the pipeline owns (all but the key and the exchange's `onboardingToken`). */
const RECORD_FIELDS = [
  'taskArn', 'clusterArn', 'clusterName', 'version', 'phase', 'reason', 'detail', 'lastStatus', 'desiredStatus', 'namespace',
  'workloadGroup', 'entryName', 'entryUid', 'address', 'roleArn', 'policy', 'rule', 'updatedAt', 'expiresAt',
] as const satisfies readonly Exclude<keyof EnrollmentRecord, 'taskId' | 'onboardingToken'>[];

export class DynamoDbEnrollmentStore implements EnrollmentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(taskId: string): Promise<EnrollmentRecord | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { taskId }, ConsistentRead: true })).catch((e: unknown) => translateAwsError(e, 'GetItem'));
    return out.Item as EnrollmentRecord | undefined;
  }

  async getMany(taskIds: string[]): Promise<Map<string, EnrollmentRecord>> {
    const result = new Map<string, EnrollmentRecord>();
    const unique = [...new Set(taskIds)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((taskId) => ({ taskId }));
      // BatchGetItem may return UnprocessedKeys under load; ask again for those only.
      for (let attempt = 0; keys && keys.length > 0 && attempt < 5; attempt++) {
        const out: BatchGetCommandOutput = await this.client
          .send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }))
          .catch((e: unknown) => translateAwsError(e, 'BatchGetItem'));
        for (const item of out.Responses?.[this.tableName] ?? []) result.set(item.taskId as string, item as EnrollmentRecord);
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return result;
  }

  async put(record: EnrollmentRecord): Promise<void> {
    const tombstone = isTombstone(record.phase);
    const condition = tombstone
      ? 'attribute_not_exists(taskId) OR #version < :version'
      : 'attribute_not_exists(taskId) OR (#version < :version AND NOT #phase IN (:draining, :deregistered))';
    await this.update(record, condition, { ':version': record.version }, {});
  }

  async putReconciled(record: EnrollmentRecord, fence: number): Promise<void> {
    // `<=`: the reconciler may rewrite the record of the very version it read from ECS.
    const condition = isTombstone(record.phase)
      ? 'attribute_not_exists(taskId) OR #version <= :fence'
      : 'attribute_not_exists(taskId) OR (#version <= :fence AND NOT #phase IN (:draining, :deregistered))';
    const extra: Record<string, unknown> = { lastReconciledAt: record.lastReconciledAt, repair: record.repair };
    await this.update({ ...record, version: fence }, condition, { ':fence': fence }, extra);
  }

  /**
   * An update, not a whole-item put: `onboardingToken` belongs to the auth exchange, which may
   * have written it after this record was read. Only a tombstone removes it.
   */
  private async update(record: EnrollmentRecord, condition: string, conditionValues: Record<string, unknown>, extra: Record<string, unknown>): Promise<void> {
    const tombstone = isTombstone(record.phase);
    const names: Record<string, string> = { '#version': 'version', '#phase': 'phase' };
    const values: Record<string, unknown> = { ...conditionValues, ...(tombstone ? {} : { ':draining': 'draining', ':deregistered': 'deregistered' }) };
    const sets: string[] = [];
    const removes: string[] = tombstone ? ['onboardingToken'] : [];
    for (const [field, value] of [...RECORD_FIELDS.map((f) => [f, record[f]] as const), ...Object.entries(extra)]) {
      // The extra fields (the reconciler's marks) are set when given, never removed.
      if (value === undefined && !(RECORD_FIELDS as readonly string[]).includes(field)) continue;
      names[`#${field}`] = field;
      if (value === undefined) removes.push(`#${field}`);
      else {
        sets.push(`#${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { taskId: record.taskId },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new VersionConflictError(`task ${record.taskId}: version ${record.version} is not newer than the stored record`, { cause: error });
      translateAwsError(error, 'UpdateItem');
    }
  }

  /**
   * One conditional update, so a concurrent exchange or task event can never be mistaken for a
   * stop: it attaches the token to a live record, or creates a version-0 `pending` record (which
   * the first task event supersedes) when none exists yet. The condition fails only on a
   * tombstone, and the record ECS's events left is what the answer is decided from.
   */
  async attachToken(task: Pick<EnrollmentRecord, 'taskId' | 'taskArn' | 'clusterArn' | 'clusterName'>, token: IssuedToken, now: Date): Promise<boolean> {
    const placeholder: Omit<EnrollmentRecord, 'taskId'> = {
      taskArn: task.taskArn, clusterArn: task.clusterArn, clusterName: task.clusterName, version: 0, phase: 'pending', reason: REASONS.TASK_STARTING,
      detail: 'token issued before any task event was processed', lastStatus: 'UNKNOWN', desiredStatus: 'UNKNOWN', updatedAt: now.toISOString(),
    };
    const names: Record<string, string> = { '#phase': 'phase' };
    const values: Record<string, unknown> = { ':token': token, ':draining': 'draining', ':deregistered': 'deregistered' };
    const sets = ['onboardingToken = :token'];
    for (const [field, value] of Object.entries(placeholder)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = if_not_exists(#${field}, :${field})`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { taskId: task.taskId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(taskId) OR NOT #phase IN (:draining, :deregistered)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false; // the record is a tombstone: the task stopped
      return translateAwsError(error, 'UpdateItem');
    }
  }

  async list(filter: EnrollmentFilter): Promise<EnrollmentRecord[]> {
    // A Scan with filters: the table holds one item per live or recently stopped task.
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const clauses: string[] = [];
    for (const [field, value] of [['clusterName', filter.clusterName], ['namespace', filter.namespace], ['phase', filter.phase]] as const) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      clauses.push(`#${field} = :${field}`);
    }
    if (filter.repairKind !== undefined) {
      Object.assign(names, { '#repair': 'repair', '#kind': 'kind' });
      values[':repairKind'] = filter.repairKind;
      clauses.push('#repair.#kind = :repairKind');
    }
    const limit = filter.limit ?? 1000;
    const items: EnrollmentRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client
        .send(
          new ScanCommand({
            TableName: this.tableName,
            ExclusiveStartKey: start,
            ...(clauses.length ? { FilterExpression: clauses.join(' AND '), ExpressionAttributeNames: names, ExpressionAttributeValues: values } : {}),
          }),
        )
        .catch((e: unknown) => translateAwsError(e, 'Scan'));
      items.push(...((out.Items ?? []) as EnrollmentRecord[]));
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.slice(0, limit).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }
}
