/**
 * WorkloadGroups read from the mesh cluster's Kubernetes API (docs/architecture.md#mesh-api): all
 * that explain, the auth exchange and token maintenance need of the mesh. It imports nothing that
 * writes or validates entries (kubernetes-mesh-api.ts does), so their bundles hold no entry writer.
 */
import type { ObjectRef, WorkloadGroup } from '../core/kubernetes-types.js';
import type { WorkloadGroupReader } from '../ports.js';
import { isRecord, KubernetesApi, objectPath, toObjectMeta, type KubernetesApiOptions } from './kubernetes-api.js';

/** Reads WorkloadGroups; takes the connection's options, or the API client a writer already holds. */
export class KubernetesWorkloadGroupReader implements WorkloadGroupReader {
  private readonly api: KubernetesApi;

  constructor(connection: KubernetesApiOptions | KubernetesApi) {
    this.api = connection instanceof KubernetesApi ? connection : new KubernetesApi(connection);
  }

  async getWorkloadGroup(ref: ObjectRef): Promise<WorkloadGroup | undefined> {
    const answer = await this.api.request('GET', objectPath('workloadgroups', ref));
    if (answer.status === 404) return undefined;
    return toWorkloadGroup(this.api.expectOk(answer, `get WorkloadGroup ${ref.namespace}/${ref.name}`));
  }
}

export function toWorkloadGroup(value: unknown): WorkloadGroup {
  const metadata = toObjectMeta(value, 'WorkloadGroup');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  const apiVersion = isRecord(value) && typeof value.apiVersion === 'string' ? value.apiVersion : 'networking.istio.io/v1';
  return { apiVersion, kind: 'WorkloadGroup', metadata, spec: spec as WorkloadGroup['spec'] };
}
