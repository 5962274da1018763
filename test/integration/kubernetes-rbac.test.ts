// The mesh RBAC manifest (deploy/kubernetes/rbac.yaml) against the adapter that needs it: every
// MeshApi method runs through KubernetesMeshApi on an API double that enforces the ClusterRole,
// so a missing verb fails with 403, and every granted verb must have been used.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import type { DecisionDeps } from '../../shared/app/deps.js';
import type { TokenMaintenanceDeps } from '../../shared/app/maintain-service-tokens.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { MeshApiError } from '../../shared/errors.js';
import type { MeshApi, MeshNamesApi } from '../../shared/ports.js';
import { renderSidecar } from '../../shared/core/mesh-names.js';
import { KubernetesApiDouble } from '../support/kubernetes-api-double.js';
import { clusterRolesIn, type PolicyRule } from '../support/kubernetes/rbac.js';

const TOKEN = 'rbac-test-token';
const ROLES = clusterRolesIn(join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes', 'rbac.yaml'));
const MANAGED = { 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding', 'ecsmesh.io/task-id': 'abc123' };

const anEntry = (address: string): WorkloadEntry => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: { name: 'ratings-abc123', namespace: 'bookinfo', labels: MANAGED },
  spec: { address, labels: { app: 'ratings' }, ports: { http: 9080 }, serviceAccount: 'ratings' },
});

/** One call of every MeshApi method, in an order that leaves each one something to act on. */
const EXERCISES = {
  getWorkloadGroup: (mesh) => mesh.getWorkloadGroup({ namespace: 'bookinfo', name: 'ratings' }),
  applyWorkloadEntry: async (mesh) => {
    await mesh.applyWorkloadEntry(anEntry('10.0.0.7')); // creates
    return mesh.applyWorkloadEntry(anEntry('10.0.0.8')); // updates
  },
  getWorkloadEntry: (mesh) => mesh.getWorkloadEntry({ namespace: 'bookinfo', name: 'ratings-abc123' }),
  listWorkloadEntries: async (mesh) => {
    await mesh.listWorkloadEntries(MANAGED, 'bookinfo');
    return mesh.listWorkloadEntries(MANAGED); // every namespace, as drain-task does
  },
  deleteWorkloadEntry: async (mesh) => {
    const entry = await mesh.getWorkloadEntry({ namespace: 'bookinfo', name: 'ratings-abc123' });
    return mesh.deleteWorkloadEntry({ namespace: 'bookinfo', name: 'ratings-abc123' }, { uid: entry?.metadata.uid ?? '', resourceVersion: entry?.metadata.resourceVersion });
  },
} satisfies Record<keyof MeshApi, (mesh: MeshApi) => Promise<unknown>>;

// What explain, the auth exchange and token maintenance can call: their deps' types hold only
// these methods, so the compiler keeps this list honest (an extra method breaks `npm run typecheck`).
type ReaderMesh = DecisionDeps['mesh'] & TokenMaintenanceDeps['mesh'];
const READER_METHODS = ['getWorkloadGroup'] as const satisfies readonly (keyof ReaderMesh)[];
const readerMethodsAreComplete: [keyof ReaderMesh] extends [(typeof READER_METHODS)[number]] ? true : never = true;

const granted = (rules: PolicyRule[]) => new Set(rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`))));
/** `resource:verb` of every request the rules let through. */
const used = (double: KubernetesApiDouble) => new Set(double.requests.filter((r) => !r.forbidden).flatMap((r) => r.verbs.map((v) => `${r.resource}:${v}`)));

async function meshWith(rules: PolicyRule[]): Promise<{ double: KubernetesApiDouble; mesh: MeshApi }> {
  const double = await KubernetesApiDouble.start({ token: TOKEN, rbac: rules });
  double.seed({
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name: 'ratings', namespace: 'bookinfo' },
    spec: { metadata: { labels: { app: 'ratings' } }, template: { serviceAccount: 'ratings', ports: { http: 9080 } } },
  });
  return { double, mesh: new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 }) };
}

describe('the mesh RBAC manifest', () => {
  let double: KubernetesApiDouble | undefined;
  afterEach(async () => {
    await double?.stop();
    double = undefined;
  });

  it('holds a writer, a reader and a names ClusterRole', () => {
    expect([...ROLES.keys()].sort()).toEqual(['ecs-mesh-onboarding-names', 'ecs-mesh-onboarding-reader', 'ecs-mesh-onboarding-writer']);
    expect(readerMethodsAreComplete).toBe(true);
  });

  it('grants the writer (taskEvents) exactly the verbs every MeshApi method needs', async () => {
    const rules = ROLES.get('ecs-mesh-onboarding-writer')!;
    const started = await meshWith(rules);
    double = started.double;

    for (const exercise of Object.values(EXERCISES)) await exercise(started.mesh);

    expect(double.requests.filter((r) => r.forbidden)).toEqual([]);
    expect(double.objects('WorkloadEntry')).toEqual([]);
    expect([...used(double)].sort()).toEqual([...granted(rules)].sort());
  });

  it('grants the reader (explain, auth, tokenMaintenance) exactly what their deps can call, and refuses writes', async () => {
    const rules = ROLES.get('ecs-mesh-onboarding-reader')!;
    const started = await meshWith(rules);
    double = started.double;

    for (const method of READER_METHODS) await EXERCISES[method](started.mesh);
    const write = await started.mesh.applyWorkloadEntry(anEntry('10.0.0.7')).catch((e: unknown) => e);

    expect(write).toBeInstanceOf(MeshApiError);
    expect(write).toMatchObject({ status: 403, retryable: false });
    expect([...used(double)].sort()).toEqual([...granted(rules)].sort());
  });

  it('grants the names function exactly the verbs every MeshNamesApi method needs', async () => {
    const rules = ROLES.get('ecs-mesh-onboarding-names')!;
    const started = await meshWith(rules);
    double = started.double;
    double.putService({ metadata: { name: 'mongodb', namespace: 'bookinfo' }, spec: { ports: [{ name: 'mongo', port: 27017 }] } });
    const names = started.mesh as unknown as MeshNamesApi;

    for (const exercise of Object.values(NAMES_EXERCISES)) await exercise(names);

    expect(double.requests.filter((r) => r.forbidden)).toEqual([]);
    expect(double.objects('Sidecar')).toEqual([]);
    expect([...used(double)].sort()).toEqual([...granted(rules)].sort());
  });
});

/** One call of every MeshNamesApi method, in an order that leaves each one something to act on. */
const NAMES_EXERCISES = {
  listWorkloadGroups: (mesh) => mesh.listWorkloadGroups(),
  listServices: (mesh) => mesh.listServices('bookinfo'),
  applySidecar: async (mesh) => {
    const group = (await mesh.listWorkloadGroups())[0]!;
    await mesh.applySidecar(renderSidecar(group, 8080, [])); // creates
    return mesh.applySidecar(renderSidecar(group, 8081, [])); // updates
  },
  listOwnSidecars: (mesh) => mesh.listOwnSidecars(),
  deleteSidecar: (mesh) => mesh.deleteSidecar({ namespace: 'bookinfo', name: 'ratings-ecs' }),
} satisfies Record<keyof MeshNamesApi, (mesh: MeshNamesApi) => Promise<unknown>>;
