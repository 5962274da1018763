/**
 * `LOCAL_MESH=istiod npm run local`: the mesh is the Kubernetes API double (API-server semantics,
 * our writer's RBAC) with the istiod model beside it (test/support/istiod-model/), instead of the
 * file mesh. WorkloadGroups are read from `<mesh dir>/workloadgroups/*.yaml` at start, Services
 * from `<mesh dir>/services/*.yaml` on every request, and two local-only routes show what istiod
 * would make of the entries our functions write:
 *   GET /local/mesh/workloadentries   the entries, with istiod's annotations and status
 *   GET /local/mesh/endpoints         for each Service, the endpoints istiod would serve
 *   GET /local/mesh/sidecars          the Sidecars the names function wrote (mesh names)
 * The Services are in the double too, for the names function to list; the one bearer token is
 * allowed what the writer and names ClusterRoles grant, as the ServiceAccount of a bearer deploy is.
 * No proxy connects here, so a probed group's entries stay out of the endpoints (as in a real mesh
 * until the task's proxy reports its probe): `npm run demo` shows a proxy doing so.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ModelService } from '../test/support/istiod-model/endpoints.js';
import { startMeshWithIstiod, WRITER_TOKEN } from '../test/support/istiod-model/mesh-with-istiod.js';
import type { KubernetesObject } from '../test/support/kubernetes/apply-merge.js';
import { clusterRolesIn } from '../test/support/kubernetes/rbac.js';
import type { Route } from './http-api.js';
import type { LocalKubernetesMesh } from './stack.js';

export interface LocalIstiod {
  kubernetes: LocalKubernetesMesh;
  routes: Route[];
  banner(baseUrl: string): string;
  stop(): Promise<void>;
}

/** Undefined for the file mesh (LOCAL_MESH unset or `file`); throws on any other value. */
export async function startLocalIstiod(mode: string | undefined, meshDir: string): Promise<LocalIstiod | undefined> {
  if (mode === undefined || mode === '' || mode === 'file') return undefined;
  if (mode !== 'istiod') throw new Error(`LOCAL_MESH must be file or istiod, not ${mode}`);
  const groups = manifestsIn(join(meshDir, 'workloadgroups')).filter((m) => m.kind === 'WorkloadGroup');
  const mesh = await startMeshWithIstiod(groups);
  const roles = clusterRolesIn(join(import.meta.dirname, '..', 'deploy', 'kubernetes', 'rbac.yaml'));
  mesh.double.addIdentity(WRITER_TOKEN, [...(roles.get('ecs-mesh-onboarding-writer') ?? []), ...(roles.get('ecs-mesh-onboarding-names') ?? [])]);
  const services = () => manifestsIn(join(meshDir, 'services')).filter((m) => m.kind === 'Service');
  for (const service of services()) mesh.double.putService(service as never);
  const json = (body: unknown) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body, null, 2) });
  return {
    kubernetes: { url: mesh.double.url, token: WRITER_TOKEN },
    routes: [
      { method: 'GET', path: '/local/mesh/workloadentries', handler: async () => json({ items: mesh.double.objects('WorkloadEntry') }) },
      { method: 'GET', path: '/local/mesh/sidecars', handler: async () => json({ items: mesh.double.objects('Sidecar') }) },
      {
        method: 'GET',
        path: '/local/mesh/endpoints',
        handler: async () => {
          const services = manifestsIn(join(meshDir, 'services')).filter((m) => m.kind === 'Service') as unknown as ModelService[];
          return json({ items: services.map((service) => ({ service: `${service.metadata.namespace}/${service.metadata.name}`, endpoints: mesh.served(service) })) });
        },
      },
    ],
    banner: (baseUrl) =>
      [
        `mesh:        Kubernetes API double ${mesh.double.url} (bearer ${WRITER_TOKEN}) with istiod's model; ${groups.length} WorkloadGroup(s) from ${meshDir}/workloadgroups/`,
        `             ${baseUrl}/local/mesh/workloadentries, ${baseUrl}/local/mesh/endpoints (Services from ${meshDir}/services/), ${baseUrl}/local/mesh/sidecars`,
      ].join('\n'),
    stop: () => mesh.stop(),
  };
}

function manifestsIn(dir: string): KubernetesObject[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubernetesObject))
    .filter((m) => m && typeof m === 'object');
}
