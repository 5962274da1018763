/**
 * istiod's WorkloadEntry writes, made on the Kubernetes API double as istiod's config store makes
 * them: a full Update (PUT) of metadata and spec, an UpdateStatus of the status subresource, a
 * Delete guarded by resourceVersion (istio: pilot/pkg/config/kube/crdclient/types.gen.go, update,
 * updateStatus, delete), under istiod's field manager (upstream.ts, ISTIOD_FIELD_MANAGER).
 * `http-store.ts` makes the same writes over HTTP, under istiod's RBAC.
 */
import type { KubernetesApiDouble } from '../kubernetes-api-double.js';
import type { KubernetesObject } from '../kubernetes/apply-merge.js';
import { ISTIOD_FIELD_MANAGER } from './upstream.js';
import type { ImmediateWorkloadEntryStore, StoredWorkloadEntry } from './workload-entry-controller.js';

function asObject(entry: StoredWorkloadEntry): KubernetesObject {
  return { ...structuredClone(entry), apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry' } as unknown as KubernetesObject;
}

/** A {@link WorkloadEntryStore} writing to `double` as istiod (in-process, outside the RBAC the double enforces on our clients). */
export function workloadEntryStoreOn(double: KubernetesApiDouble): ImmediateWorkloadEntryStore {
  const all = (): StoredWorkloadEntry[] => double.objects('WorkloadEntry') as unknown as StoredWorkloadEntry[];
  return {
    get: (namespace, name) => all().find((e) => e.metadata.namespace === namespace && e.metadata.name === name),
    list: all,
    update: (entry) => void double.adminReplace(asObject(entry), ISTIOD_FIELD_MANAGER),
    updateStatus: (entry) => void double.replaceStatus(asObject(entry), ISTIOD_FIELD_MANAGER),
    // deleteEntry ignores NotFound; adminDelete answers false for it and throws on a conflict.
    delete: (namespace, name, resourceVersion) => void double.adminDelete('WorkloadEntry', namespace, name, resourceVersion),
  };
}
