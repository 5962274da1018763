/**
 * Scheduled upkeep of the per-service token secrets (docs/architecture.md#enrollment, #tokens): a token of a service that
 * has enrolled tasks is refreshed before it expires; the secret of a service that has had no
 * task for TOKEN_SECRET_IDLE_SECONDS is removed (with a recovery window).
 */
import type { EnrollmentRecord } from '../core/enrollment.js';
import type { EnrollmentSummary } from '../core/enrollment-index.js';
import type { ObjectRef } from '../core/kubernetes-types.js';
import { groupKey } from '../core/service-token.js';
import type { EnrollmentStore, WorkloadGroupReader } from '../ports.js';
import { createServiceTokenEnsurer, type ServiceTokenDeps } from './ensure-service-token.js';
import { mapLimited } from './map-limited.js';

/** The token deps plus what tells a live service from an idle one. */
export interface TokenMaintenanceDeps extends ServiceTokenDeps {
  enrollments: Pick<EnrollmentStore, 'summaries' | 'getMany'>;
  mesh: WorkloadGroupReader;
  idleSeconds: number;
  /** Secrets handled at once. */
  concurrency?: number;
}

/** Counts of one run; `failed` secrets are logged and tried again on the next run. */
export interface TokenMaintenanceSummary {
  refreshed: number;
  removed: number;
  kept: number;
  failed: number;
}

type UpkeepOutcome = 'refreshed' | 'removed' | 'kept';

/** Visits every service token secret once; never throws for one secret's failure. */
export async function maintainServiceTokens(deps: TokenMaintenanceDeps, now: Date): Promise<TokenMaintenanceSummary> {
  const refs = await deps.vault.list();
  const records = recordsByNamespace(deps.enrollments);
  const ensure = createServiceTokenEnsurer(deps);
  const summary: TokenMaintenanceSummary = { refreshed: 0, removed: 0, kept: 0, failed: 0 };

  await mapLimited(refs, deps.concurrency ?? 8, async (ref) => {
    try {
      summary[await maintainOne(ref, await records(ref.namespace), deps, ensure, now)]++;
    } catch (error) {
      summary.failed++;
      const err = error instanceof Error ? error : new Error(String(error));
      deps.log.error('service token maintenance failed', { workloadGroup: groupKey(ref), error: err.message, code: (err as { code?: string }).code });
    }
  });
  return summary;
}

async function maintainOne(
  ref: ObjectRef,
  namespaceRecords: NamespaceRecords,
  deps: TokenMaintenanceDeps,
  ensure: ReturnType<typeof createServiceTokenEnsurer>,
  now: Date,
): Promise<UpkeepOutcome> {
  const workloadGroup = groupKey(ref);
  const refresh = async (): Promise<UpkeepOutcome> => {
    const group = await deps.mesh.getWorkloadGroup(ref);
    if (!group) {
      // Tasks are still enrolled: removing their token would break restarts. Reconcile sorts out the group.
      deps.log.warn('service token kept: its WorkloadGroup is gone but tasks are enrolled', { workloadGroup });
      return 'kept';
    }
    const ensured = await ensure(group, now);
    return ensured.outcome === 'fresh' ? 'kept' : 'refreshed';
  };
  const service = namespaceRecords.filter((s) => s.workloadGroup === ref.name);
  if (service.some((s) => s.phase === 'enrolled')) return refresh();

  const cutoff = now.getTime() - deps.idleSeconds * 1000;
  const stored = await deps.vault.read(ref);
  if (!stored) return 'kept'; // removed since the listing
  // An unreadable document has no issue time we can trust: only the records speak for it.
  const tokenIdle = !stored.document || Date.parse(stored.document.issuedAt) <= cutoff;
  if (!tokenIdle) return 'kept';
  // Only a service about to lose its secret has its records read: when it last had a task, and
  // whether one enrolled since the index was read (the index lags the table).
  const records = [...(await deps.enrollments.getMany(service.map((s) => s.taskId))).values()];
  if (records.some((r) => r.phase === 'enrolled')) return refresh();
  const newest = records.reduce<EnrollmentRecord | undefined>((a, b) => (!a || b.updatedAt > a.updatedAt ? b : a), undefined);
  const recordsIdle = !newest || Date.parse(newest.updatedAt) <= cutoff;
  if (!recordsIdle) return 'kept';

  await deps.vault.remove(ref);
  deps.log.info('idle service token secret removed', { workloadGroup, lastTaskUpdate: newest?.updatedAt, issuedAt: stored.document?.issuedAt });
  return 'removed';
}

type NamespaceRecords = EnrollmentSummary[];

/** Reads each namespace's records once per run from its index partition, however many services it has. */
function recordsByNamespace(store: Pick<EnrollmentStore, 'summaries'>): (namespace: string) => Promise<NamespaceRecords> {
  const cache = new Map<string, Promise<NamespaceRecords>>();
  return (namespace) => {
    let entry = cache.get(namespace);
    if (!entry) {
      // Every page: a truncated listing could miss an enrolled task and remove a live service's secret.
      entry = store.summaries({ namespace });
      cache.set(namespace, entry);
      entry.catch(() => cache.delete(namespace));
    }
    return entry;
  };
}
