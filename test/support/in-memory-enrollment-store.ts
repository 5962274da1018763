/** EnrollmentStore with DynamoDbEnrollmentStore's conditional semantics, for app-level tests. */
import { isTombstone, type EnrollmentRecord, type IssuedToken, type Phase } from '../../shared/core/enrollment.js';
import { matchesFilter, planEnrollmentQuery, type EnrollmentCursor, type EnrollmentListFilter, type EnrollmentSummary } from '../../shared/core/enrollment-index.js';
import { VersionConflictError } from '../../shared/errors.js';
import type { EnrollmentPage, EnrollmentStore } from '../../shared/ports.js';

export class InMemoryEnrollmentStore implements EnrollmentStore {
  readonly records = new Map<string, EnrollmentRecord>();
  /** Runs before each put: lets a test interleave a concurrent writer. */
  beforePut: ((record: EnrollmentRecord) => void) | undefined;

  async get(taskId: string) {
    return this.records.get(taskId);
  }

  async getMany(taskIds: string[]) {
    return new Map(taskIds.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])));
  }

  async put(record: EnrollmentRecord) {
    this.beforePut?.(record);
    const stored = this.records.get(record.taskId);
    const allowed = !stored || (stored.version < record.version && (isTombstone(record.phase) || !isTombstone(stored.phase)));
    if (!allowed) throw new VersionConflictError(`task ${record.taskId}: version ${record.version} is not newer`);
    // As the DynamoDB store: the exchange's token survives event writes; a tombstone drops it.
    const token = isTombstone(record.phase) ? undefined : stored?.onboardingToken;
    this.records.set(record.taskId, structuredClone({ ...record, ...(token ? { onboardingToken: token } : {}) }));
  }

  async putReconciled(record: EnrollmentRecord, fence: number) {
    const stored = this.records.get(record.taskId);
    const allowed = !stored || (stored.version <= fence && (isTombstone(record.phase) || !isTombstone(stored.phase)));
    if (!allowed) throw new VersionConflictError(`task ${record.taskId}: the stored record is newer than ${fence}`);
    const token = isTombstone(record.phase) ? undefined : stored?.onboardingToken;
    this.records.set(record.taskId, structuredClone({ ...record, version: fence, ...(token ? { onboardingToken: token } : {}) }));
  }

  async attachToken(task: Pick<EnrollmentRecord, 'taskId' | 'taskArn' | 'clusterArn' | 'clusterName'>, token: IssuedToken, now: Date) {
    const stored = this.records.get(task.taskId);
    if (stored && isTombstone(stored.phase)) return false;
    this.records.set(task.taskId, stored ? { ...stored, onboardingToken: token } : { ...task, version: 0, phase: 'pending', reason: 'TASK_STARTING', detail: '', lastStatus: 'UNKNOWN', desiredStatus: 'UNKNOWN', updatedAt: now.toISOString(), onboardingToken: token });
    return true;
  }

  /** As the indexes answer: the plan's partitions in turn, task-id order within each. */
  async listPage(filter: EnrollmentListFilter, limit: number, cursor?: EnrollmentCursor): Promise<EnrollmentPage> {
    const plan = planEnrollmentQuery(filter);
    const start = cursor ? plan.partitions.indexOf(cursor.partition) : 0;
    const ordered = plan.partitions.slice(start).flatMap((partition, i) =>
      this.inPartition(plan.keyAttribute, partition)
        .filter((r) => i > 0 || cursor?.after === undefined || r.taskId > cursor.after)
        .map((r) => ({ partition, r })),
    );
    const matching = ordered.filter(({ r }) => matchesFilter(r, filter));
    const page = matching.slice(0, limit);
    const last = page.at(-1);
    const next = matching.length > limit && last ? { partition: last.partition, after: last.r.taskId } : undefined;
    return { items: page.map(({ r }) => structuredClone(r)), ...(next ? { next } : {}), examined: ordered.length };
  }

  async summaries(key: { phase: Phase } | { namespace: string }): Promise<EnrollmentSummary[]> {
    const plan = planEnrollmentQuery(key);
    return this.inPartition(plan.keyAttribute, plan.partitions[0]!).map((r) => ({ ...r, ...(r.repair ? { repairKind: r.repair.kind } : {}) }));
  }

  private inPartition(attribute: string, value: string): EnrollmentRecord[] {
    const key = (r: EnrollmentRecord) => (attribute === 'repairKind' ? r.repair?.kind : (r as unknown as Record<string, unknown>)[attribute]);
    return [...this.records.values()].filter((r) => key(r) === value).sort((a, b) => a.taskId.localeCompare(b.taskId));
  }
}
