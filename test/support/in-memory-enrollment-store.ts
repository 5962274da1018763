/** EnrollmentStore with DynamoDbEnrollmentStore's conditional semantics, for app-level tests. */
import { isTombstone, type EnrollmentRecord, type IssuedToken } from '../../shared/core/enrollment.js';
import { VersionConflictError } from '../../shared/errors.js';
import type { EnrollmentFilter, EnrollmentStore } from '../../shared/ports.js';

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

  async list(filter: EnrollmentFilter) {
    return [...this.records.values()].filter(
      (r) => (!filter.clusterName || r.clusterName === filter.clusterName) && (!filter.namespace || r.namespace === filter.namespace) && (!filter.phase || r.phase === filter.phase) && (!filter.repairKind || r.repair?.kind === filter.repairKind),
    );
  }
}
