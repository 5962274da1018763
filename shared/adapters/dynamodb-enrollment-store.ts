/**
 * Enrollment records in DynamoDB, one item per task id. Every write is conditional on the
 * event version so a stale or repeated event never overwrites a newer state, and a tombstone
 * (draining / deregistered) is never replaced by a live phase (docs/architecture.md#enrollment).
 */
import { BatchGetCommand, UpdateCommand, type BatchGetCommandOutput, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isTombstone, type EnrollmentRecord, type IssuedToken, type Phase } from '../core/enrollment.js';
import { ENROLLMENT_INDEXES, matchesFilter, planEnrollmentQuery, SUMMARY_FIELDS, type EnrollmentCursor, type EnrollmentListFilter, type EnrollmentQueryPlan, type EnrollmentSummary } from '../core/enrollment-index.js';
import { REASONS } from '../core/reasons.js';
import { ControlPlaneError, UpstreamThrottledError, VersionConflictError } from '../errors.js';
import type { EnrollmentPage, EnrollmentStore } from '../ports.js';
import { isConditionFailure, translateAwsError } from './aws-errors.js';
import { conditionFailureItem } from './dynamodb-condition-failure.js';

/** Every attribute the pipeline owns (all but the key and the exchange's `onboardingToken`). */
const RECORD_FIELDS = [
  'taskArn', 'clusterArn', 'clusterName', 'version', 'phase', 'reason', 'detail', 'lastStatus', 'desiredStatus', 'namespace',
  'workloadGroup', 'entryName', 'entryUid', 'address', 'roleArn', 'policy', 'rule', 'updatedAt', 'expiresAt',
  'droppedLabels', 'network',
] as const satisfies readonly Exclude<keyof EnrollmentRecord, 'taskId' | 'onboardingToken'>[];

/**
 * The table's global secondary indexes, as CreateTable takes them (local/bootstrap.ts) and as
 * serverless.yml declares them (a test holds the two equal): partitioned by the filter, sorted by
 * task id, carrying the summary fields.
 */
export const ENROLLMENT_TABLE_INDEXES = Object.entries(ENROLLMENT_INDEXES).map(([index, key]) => ({
  IndexName: index,
  KeySchema: [
    { AttributeName: key, KeyType: 'HASH' as const },
    { AttributeName: 'taskId', KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: SUMMARY_FIELDS.filter((f) => f !== key) },
}));

const INDEX_KEYS: ReadonlySet<string> = new Set(Object.values(ENROLLMENT_INDEXES));

/** Index items a filtered Query reads per call (it keeps only those that match). */
const FILTERED_QUERY_LIMIT = 500;

/** BatchGetItem rounds for the keys DynamoDB left unprocessed (it does so when throttled). */
const BATCH_GET_ATTEMPTS = 5;
/** Full-jitter back-off between those rounds, as AWS advises for unprocessed keys: ceilings 50, 100, 200, 400 ms. */
const BATCH_GET_BACKOFF_BASE_MS = 50;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoDbEnrollmentStore implements EnrollmentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Waits between BatchGetItem rounds (injected by tests, which never sleep). */
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
    private readonly random: () => number = Math.random,
  ) {}

  async get(taskId: string): Promise<EnrollmentRecord | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { taskId }, ConsistentRead: true })).catch((e: unknown) => translateAwsError(e, 'GetItem'));
    return out.Item as EnrollmentRecord | undefined;
  }

  /**
   * Every record of `taskIds` that exists, or a throw: never a partial map, which a caller would
   * read as "no record" for the tasks left unread (and re-enroll, repair or skip them wrongly).
   * Keys DynamoDB leaves unprocessed are asked for again after a jittered back-off; still unread
   * after BATCH_GET_ATTEMPTS rounds, the read fails as throttled (retryable: the event or the pass
   * is retried whole).
   */
  async getMany(taskIds: string[]): Promise<Map<string, EnrollmentRecord>> {
    const result = new Map<string, EnrollmentRecord>();
    const unique = [...new Set(taskIds)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((taskId) => ({ taskId }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt === BATCH_GET_ATTEMPTS)
          throw new UpstreamThrottledError(`BatchGetItem left ${keys.length} of ${unique.length} enrollment records unread after ${BATCH_GET_ATTEMPTS} attempts`);
        if (attempt > 0) await this.sleep(Math.floor(this.random() * BATCH_GET_BACKOFF_BASE_MS * 2 ** (attempt - 1)));
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
    // `repairKind`: the byRepair index's key (a map's field cannot be one), kept with `repair`.
    const extra: Record<string, unknown> = { lastReconciledAt: record.lastReconciledAt, repair: record.repair, repairKind: record.repair?.kind };
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
    for (const [field, given] of [...RECORD_FIELDS.map((f) => [f, record[f]] as const), ...Object.entries(extra)]) {
      // DynamoDB refuses the whole write when an index key is an empty string: such a record is
      // simply not in that index, as one without the attribute.
      const value = given === '' && INDEX_KEYS.has(field) ? undefined : given;
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
          // The record that won comes back with the refusal, so no caller reads it again.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new VersionConflictError(`task ${record.taskId}: version ${record.version} is not newer than the stored record`, { cause: error, stored: conditionFailureItem(error) as EnrollmentRecord | undefined });
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

  async listPage(filter: EnrollmentListFilter, limit: number, cursor?: EnrollmentCursor): Promise<EnrollmentPage> {
    const plan = planEnrollmentQuery(filter);
    let p = cursor ? plan.partitions.indexOf(cursor.partition) : 0;
    if (p < 0) throw new ControlPlaneError('INVALID_CURSOR', `the cursor's partition ${cursor?.partition} is not one this listing reads`, { retryable: false });
    // Filtered on the index, a Query reads more than it keeps: read a sizeable slice, keep what fits.
    const filtered = Object.keys(plan.rest).length > 0;
    const picked: EnrollmentSummary[] = [];
    let examined = 0;
    let next: EnrollmentCursor | undefined;
    let after = cursor?.after;
    pages: for (; p < plan.partitions.length; p++, after = undefined) {
      const partition = plan.partitions[p]!;
      do {
        const need = limit - picked.length;
        const out = await this.query(plan, partition, after, filtered ? FILTERED_QUERY_LIMIT : need);
        examined += out.scanned;
        const kept = out.items.slice(0, need);
        picked.push(...kept);
        after = kept.length < out.items.length ? kept.at(-1)!.taskId : out.lastTaskId;
        if (picked.length === limit) {
          if (after !== undefined) next = { partition, after };
          else if (p + 1 < plan.partitions.length) next = { partition: plan.partitions[p + 1]! };
          break pages;
        }
      } while (after !== undefined);
    }
    // The page's records themselves, read consistently; one that changed since the index saw it is checked again.
    const records = await this.getMany(picked.map((s) => s.taskId));
    const items = picked.flatMap((s) => {
      const record = records.get(s.taskId);
      return record && matchesFilter(record, filter) ? [record] : [];
    });
    return { items, ...(next ? { next } : {}), examined };
  }

  async summaries(key: { phase: Phase } | { namespace: string }): Promise<EnrollmentSummary[]> {
    const plan = planEnrollmentQuery(key);
    const all: EnrollmentSummary[] = [];
    let after: string | undefined;
    do {
      const out = await this.query(plan, plan.partitions[0]!, after);
      all.push(...out.items);
      after = out.lastTaskId;
    } while (after !== undefined);
    return all;
  }

  /** One Query of an index partition, after a task id, filtered by the plan's other filters. */
  private async query(plan: EnrollmentQueryPlan, partition: string, after: string | undefined, limit?: number) {
    const names: Record<string, string> = { '#pk': plan.keyAttribute };
    const values: Record<string, unknown> = { ':pk': partition };
    let keyCondition = '#pk = :pk';
    if (after !== undefined) {
      Object.assign(names, { '#taskId': 'taskId' });
      values[':after'] = after;
      keyCondition += ' AND #taskId > :after';
    }
    const clauses: string[] = [];
    for (const [field, value] of Object.entries(plan.rest)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      clauses.push(`#${field} = :${field}`);
    }
    const out = await this.client
      .send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: plan.index,
          KeyConditionExpression: keyCondition,
          ...(clauses.length ? { FilterExpression: clauses.join(' AND ') } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(limit !== undefined ? { Limit: limit } : {}),
        }),
      )
      .catch((e: unknown) => {
        // While an upgraded stack gains its indexes (docs/deploy.md#upgrading-a-stack-deployed-before-the-enrollment-indexes), one may not exist or be ACTIVE yet.
        // AWS: ValidationException ("does not have the specified index", "backfilling"); moto: ResourceNotFoundException.
        if (['ValidationException', 'ResourceNotFoundException'].includes((e as { name?: string }).name ?? '') && /index/i.test((e as Error).message))
          throw new ControlPlaneError('ENROLLMENT_INDEX_NOT_READY', `the enrollment table's ${plan.index} index does not exist or is still being built; try again once it is ACTIVE`, { cause: e });
        return translateAwsError(e, 'Query');
      });
    const lastTaskId = out.LastEvaluatedKey?.taskId as string | undefined;
    return { items: (out.Items ?? []) as EnrollmentSummary[], lastTaskId, scanned: out.ScannedCount ?? out.Items?.length ?? 0 };
  }
}
