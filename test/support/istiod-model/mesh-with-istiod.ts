/**
 * The mesh as the functions and the user see it: the Kubernetes API double, our writer's RBAC
 * (deploy/kubernetes/rbac.yaml), and istiod beside it: its WorkloadEntry controller writing over
 * HTTP with its own RBAC (./http-store.ts), and the endpoints it would serve (./endpoints.ts)
 * for a Service (the double keeps WorkloadEntries and WorkloadGroups only).
 */
import { join } from 'node:path';
import type { KubernetesObject } from '../kubernetes/apply-merge.js';
import { clusterRolesIn } from '../kubernetes/rbac.js';
import { KubernetesApiDouble } from '../kubernetes-api-double.js';
import { endpointsForService, withDefaultedTargetPorts, type ModelService, type ModelWorkloadEntry } from './endpoints.js';
import { istiodOverHttp, ISTIOD_RBAC } from './http-store.js';
import type { WorkloadEntryControllerModel } from './workload-entry-controller.js';

export const WRITER_TOKEN = 'ecs-mesh-onboarding-writer-token';
const ISTIOD_TOKEN = 'istiod-token';

export interface MeshWithIstiod {
  double: KubernetesApiDouble;
  /** istiod's WorkloadEntry controller, one instance (a restart is a new one: {@link restartIstiod}). */
  istiod: WorkloadEntryControllerModel;
  /** A new istiod instance (a restart or a failover): proxies reconnect to it. */
  restartIstiod(instanceId: string): WorkloadEntryControllerModel;
  /** `address:port` of every endpoint istiod would serve for `service` (the double keeps no Services), sorted. */
  served(service: ModelService): string[];
  stop(): Promise<void>;
}

export async function startMeshWithIstiod(manifests: KubernetesObject[], instanceId = 'istiod-5f7c9d8b6-q4m2x'): Promise<MeshWithIstiod> {
  const writer = clusterRolesIn(join(import.meta.dirname, '..', '..', '..', 'deploy', 'kubernetes', 'rbac.yaml')).get('ecs-mesh-onboarding-writer');
  const double = await KubernetesApiDouble.start({ token: WRITER_TOKEN, ...(writer ? { rbac: writer } : {}) });
  double.addIdentity(ISTIOD_TOKEN, ISTIOD_RBAC);
  for (const manifest of manifests) double.seed(manifest);
  const controller = (id: string) => istiodOverHttp(double.url, ISTIOD_TOKEN, id);
  const mesh: MeshWithIstiod = {
    double,
    istiod: controller(instanceId),
    restartIstiod(id) {
      mesh.istiod = controller(id);
      return mesh.istiod;
    },
    served(service) {
      const entries = double.objects('WorkloadEntry') as unknown as ModelWorkloadEntry[];
      return endpointsForService(withDefaultedTargetPorts(service), entries, { clusterId: 'Kubernetes' })
        .map((e) => `${e.address}:${e.endpointPort}`)
        .sort();
    },
    stop: () => double.stop(),
  };
  return mesh;
}
