/**
 * How the enrollment table is read without a Scan (docs/architecture.md#enrollment-indexes): four
 * global secondary indexes, each partitioned by one attribute a listing filters on and sorted by
 * `taskId`, so a page resumes after the last task id it returned and a record that exists for the
 * whole listing is returned exactly once, however often it is rewritten meanwhile. Pure: which
 * index answers a filter, what a page resumes from, which records match.
 */
import { PHASES, type EnrollmentRecord, type Phase } from './enrollment.js';
import type { RepairKind } from './reconcile.js';

/** Index name → its partition key attribute (top-level, a string, on every record that has it). */
export const ENROLLMENT_INDEXES = {
  // In the order an existing stack gains them, one a stack update (docs/deploy.md#upgrading-a-stack-deployed-before-the-enrollment-indexes): the
  // reconciler's, the token maintenance's, then the listings'.
  byPhase: 'phase',
  byNamespace: 'namespace',
  byCluster: 'clusterName',
  byRepair: 'repairKind',
} as const;
export type EnrollmentIndex = keyof typeof ENROLLMENT_INDEXES;

/**
 * The attributes every index carries besides its keys: what the filters test and what the
 * reconciler and the token maintenance read. All of them change only when the task's phase,
 * group or repair changes, so the many writes that change nothing else (a token attached, a
 * duplicate event) cost no index write.
 */
export const SUMMARY_FIELDS = ['taskArn', 'clusterArn', 'clusterName', 'namespace', 'workloadGroup', 'phase', 'repairKind'] as const;

/** What the indexes hold of a record. */
export type EnrollmentSummary = Pick<EnrollmentRecord, 'taskId' | 'taskArn' | 'clusterArn' | 'clusterName' | 'namespace' | 'workloadGroup' | 'phase'> & { repairKind?: string };

/** The listing's filters, as the API takes them. */
export interface EnrollmentListFilter {
  clusterName?: string;
  namespace?: string;
  phase?: Phase;
  repairKind?: RepairKind;
}

/** Where a page resumes: the index partition it was reading and the last task id it returned (none: from its start). */
export interface EnrollmentCursor {
  partition: string;
  after?: string;
}

/** One Query (or, unfiltered, one per phase in turn) and the filters tested on what it reads. */
export interface EnrollmentQueryPlan {
  index: EnrollmentIndex;
  keyAttribute: (typeof ENROLLMENT_INDEXES)[EnrollmentIndex];
  /** The partitions read, in order. */
  partitions: readonly string[];
  /** The filters the Query's key does not answer: a FilterExpression on the index's own attributes. */
  rest: EnrollmentListFilter;
}

/**
 * The most selective filter is the Query, the others are tested on the items it reads (all
 * index attributes, so no record is fetched to be dropped): a repair kind (only repaired records
 * carry one) before a namespace before a cluster before a phase (six values, the largest
 * partitions). No filter reads the phase index one phase after the other.
 */
export function planEnrollmentQuery(filter: EnrollmentListFilter): EnrollmentQueryPlan {
  const { repairKind, namespace, clusterName, phase } = filter;
  const plan = (index: EnrollmentIndex, partition: string | readonly string[], rest: EnrollmentListFilter): EnrollmentQueryPlan => ({
    index,
    keyAttribute: ENROLLMENT_INDEXES[index],
    partitions: typeof partition === 'string' ? [partition] : partition,
    rest: Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
  });
  if (repairKind !== undefined) return plan('byRepair', repairKind, { namespace, clusterName, phase });
  if (namespace !== undefined) return plan('byNamespace', namespace, { clusterName, phase });
  if (clusterName !== undefined) return plan('byCluster', clusterName, { phase });
  if (phase !== undefined) return plan('byPhase', phase, {});
  return plan('byPhase', PHASES, {});
}

/** Whether a cursor can resume this plan's listing: its partition must be one the plan reads. */
export function cursorFits(plan: EnrollmentQueryPlan, cursor: EnrollmentCursor): boolean {
  return plan.partitions.includes(cursor.partition);
}

/** The record matches every filter (checked again on the fetched record: the indexes lag the table). */
export function matchesFilter(record: Pick<EnrollmentRecord, 'clusterName' | 'namespace' | 'phase' | 'repair'>, filter: EnrollmentListFilter): boolean {
  return (
    (filter.clusterName === undefined || record.clusterName === filter.clusterName) &&
    (filter.namespace === undefined || record.namespace === filter.namespace) &&
    (filter.phase === undefined || record.phase === filter.phase) &&
    (filter.repairKind === undefined || record.repair?.kind === filter.repairKind)
  );
}
