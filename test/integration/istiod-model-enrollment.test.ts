/**
 * What istiod would serve for the example's Service once our enrollment has written a task's
 * WorkloadEntry, computed by the istiod model (test/support/istiod-model/) over the Kubernetes API
 * double. It DOCUMENTS CURRENT BEHAVIOUR (issue 19, item 1), it does not fix it: the example's
 * WorkloadGroup has a probe, so the entry carries `proxy.istio.io/health-checks-enabled: "true"`
 * and istiod serves it only once a `Healthy=True` condition is in its status. Only istiod writes
 * that condition, for a proxy that connected naming the entry (`WORKLOAD_ENTRY` metadata) and
 * reported a passing probe; the example's task template sets no ISTIO_META_WORKLOAD_ENTRY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { workloadEntryStoreOn } from '../support/istiod-model/double-store.js';
import { endpointsForService, withDefaultedTargetPorts, type ModelService, type ModelWorkloadEntry } from '../support/istiod-model/endpoints.js';
import { WorkloadEntryControllerModel, type ModelConnection } from '../support/istiod-model/workload-entry-controller.js';
import type { KubernetesObject } from '../support/kubernetes/apply-merge.js';
import { KubernetesApiDouble, RefusedByDouble } from '../support/kubernetes-api-double.js';
import { exampleIstioManifest, exampleTaskEntry } from '../support/example-task-entry.js';

const TOKEN = 'test-token-istiod-model';

describe('The istiod model over our enrollment of the example (documents current behaviour, issue 19 item 1)', () => {
  let double: KubernetesApiDouble;
  let mesh: KubernetesMeshApi;
  let group: WorkloadGroup;
  const service = withDefaultedTargetPorts(exampleIstioManifest('service.yaml') as ModelService);
  const served = () =>
    endpointsForService(service, double.objects('WorkloadEntry') as unknown as ModelWorkloadEntry[], { clusterId: 'Kubernetes' }).map((e) => `${e.address}:${e.endpointPort}`);

  beforeAll(async () => {
    double = await KubernetesApiDouble.start({ token: TOKEN });
    mesh = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 });
    group = double.seed(exampleIstioManifest('workloadgroup.yaml') as KubernetesObject) as unknown as WorkloadGroup;
  });

  afterAll(async () => {
    await double.stop();
  });

  it('the entry we write for a task of the probed group is not an endpoint until istiod writes Healthy=True', async () => {
    const entry = exampleTaskEntry(group);
    await mesh.applyWorkloadEntry(entry);

    // Today: selected by the Service, but held back by isHealthy (no Healthy condition yet).
    expect(entry.metadata.annotations).toMatchObject({ 'proxy.istio.io/health-checks-enabled': 'true' });
    expect(served()).toEqual([]);

    // What would make it an endpoint: a proxy naming the entry, with the group's identity, whose probe passes.
    const istiod = new WorkloadEntryControllerModel({ instanceId: 'istiod-7d9f', store: workloadEntryStoreOn(double) });
    const proxy = {
      id: `${entry.metadata.name}.bookinfo`,
      ipAddresses: ['10.0.1.23'],
      namespace: 'bookinfo',
      workloadEntry: entry.metadata.name,
      verifiedIdentity: { namespace: 'bookinfo', serviceAccount: 'bookinfo-ratings' },
    };
    const conn: ModelConnection = { id: 'conn-1', proxy, connectedAt: new Date('2026-12-05T05:00:00Z') };
    await istiod.onConnect(conn);
    expect(served()).toEqual([]);
    await istiod.reportHealth(proxy, { healthy: true }, new Date('2026-12-05T05:00:05Z'));
    expect(served()).toEqual(['10.0.1.23:9080']);

    // Our next apply (reconcile) leaves istiod's annotations and status alone: still served.
    await mesh.applyWorkloadEntry(entry);
    const stored = double.objects('WorkloadEntry')[0] as unknown as ModelWorkloadEntry;
    expect(stored.metadata.annotations).toMatchObject({ 'istio.io/workloadController': 'istiod-7d9f' });
    expect(served()).toEqual(['10.0.1.23:9080']);
  });

  it("istiod's status write on the double: only the status moves, guarded by resourceVersion, and a stale one is refused", () => {
    const entry = double.objects('WorkloadEntry')[0];
    if (!entry) throw new Error('the first test leaves an entry');
    const store = workloadEntryStoreOn(double);
    const before = store.get(String(entry.metadata.namespace), String(entry.metadata.name));
    if (!before) throw new Error('entry not found');
    store.updateStatus({ ...before, spec: { ...before.spec, weight: 99 }, status: { conditions: [{ type: 'Healthy', status: 'False' }] } });
    const after = double.objects('WorkloadEntry')[0];
    expect(after?.status).toEqual({ conditions: [{ type: 'Healthy', status: 'False' }] });
    expect(after?.spec).toEqual(entry.spec);
    expect(after?.metadata.generation).toBe(entry.metadata.generation);
    expect(after?.metadata.resourceVersion).not.toBe(entry.metadata.resourceVersion);
    expect(() => store.updateStatus({ ...before, status: { conditions: [] } })).toThrow(RefusedByDouble);
  });
});
