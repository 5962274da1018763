/**
 * WorkloadGroups change rarely and every enrollment reads one: cache them briefly per
 * container (docs/architecture.md#enrollment). Entries are never cached; they are what we write.
 */
import type { ObjectRef, WorkloadGroup } from '../core/kubernetes-types.js';
import type { MeshApi, WorkloadGroupReader } from '../ports.js';
import { ExpiringCache } from './expiring-cache.js';

/** Wraps a MeshApi so getWorkloadGroup is served from a short-lived cache. */
export function withCachedWorkloadGroups(mesh: MeshApi, ttlMs: number, now: () => number = Date.now): MeshApi {
  const groups = cachedWorkloadGroups(mesh, ttlMs, now);
  return {
    getWorkloadGroup: (ref) => groups.getWorkloadGroup(ref),
    getWorkloadEntry: (ref) => mesh.getWorkloadEntry(ref),
    applyWorkloadEntry: (entry) => mesh.applyWorkloadEntry(entry),
    deleteWorkloadEntry: (ref, preconditions) => mesh.deleteWorkloadEntry(ref, preconditions),
    listWorkloadEntries: (labels, namespace) => mesh.listWorkloadEntries(labels, namespace),
  };
}

/** A WorkloadGroup reader served from a short-lived cache. */
export function cachedWorkloadGroups(reader: WorkloadGroupReader, ttlMs: number, now: () => number = Date.now): WorkloadGroupReader {
  const groups = new ExpiringCache<WorkloadGroup | undefined>(ttlMs, now);
  return { getWorkloadGroup: (ref: ObjectRef) => groups.getOrLoad(`${ref.namespace}/${ref.name}`, () => reader.getWorkloadGroup(ref)) };
}
