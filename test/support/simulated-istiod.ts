/**
 * istiod's writes to a health-checked WorkloadEntry, made over HTTP as istiod makes them, read
 * from istio/istio at 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c:
 * - pilot/pkg/autoregistration/controller.go, `changeWorkloadEntryStateToConnected` (through
 *   `setConnectMeta`) and `changeWorkloadEntryStateToDisconnected`: get the entry, set
 *   `istio.io/workloadController` and `istio.io/connectedAt` (dropping `istio.io/disconnectedAt`),
 *   or drop `connectedAt` and set `disconnectedAt`, then `store.Update`: a PUT of the whole object
 *   under its resourceVersion ("use update instead of patch to prevent race condition");
 * - pilot/pkg/autoregistration/internal/state/store.go, `UpdateHealth` and
 *   `DeleteHealthCondition`: the `Healthy` condition (health/controller.go
 *   `transformHealthEvent`) replaced in or removed from `status.conditions` by `UpdateStatus`, a PUT
 *   of the status subresource;
 * - pilot/pkg/config/kube/crdclient/types.gen.go `update`/`updateStatus`: `metav1.UpdateOptions{}`,
 *   no fieldManager, so the API server names the manager after the User-Agent
 *   (pkg/kube/util.go `IstioUserAgent`: `pilot-discovery/<version>`): `pilot-discovery`.
 * Time stamps are RFC 3339 (controller.go `timeFormat`).
 */
import type { ObjectRef } from '../../shared/core/kubernetes-types.js';
import type { PolicyRule } from './kubernetes/rbac.js';

/** The field manager the API server records for istiod's writes. */
export const ISTIOD_MANAGER = 'pilot-discovery';

/** What istiod's ClusterRole grants on entries (manifests/charts/istio-control/istio-discovery/templates/clusterrole.yaml). */
export const ISTIOD_RBAC: PolicyRule[] = [
  { apiGroups: ['networking.istio.io'], verbs: ['get', 'watch', 'list', 'update', 'patch', 'create', 'delete'], resources: ['workloadentries'] },
  { apiGroups: ['networking.istio.io'], verbs: ['get', 'watch', 'list', 'update', 'patch', 'create', 'delete'], resources: ['workloadentries/status', 'serviceentries/status'] },
];

type Entry = Record<string, unknown> & { metadata: Record<string, unknown> & { annotations?: Record<string, string> }; status?: { conditions?: Record<string, unknown>[] } };

/** istiod, as far as a health-checked (not auto-registered) entry sees it. */
export class SimulatedIstiod {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    /** istiod's instance id (its pod name), the `istio.io/workloadController` value. */
    readonly instanceId = 'istiod-7d4b9c8f6-x2x9q',
  ) {}

  /** The proxy of the entry connected at `at`. */
  async connect(ref: ObjectRef, at: Date): Promise<void> {
    const entry = await this.get(ref);
    const annotations: Record<string, string> = { ...entry.metadata.annotations, 'istio.io/workloadController': this.instanceId, 'istio.io/connectedAt': at.toISOString() };
    delete annotations['istio.io/disconnectedAt'];
    await this.put(ref, '', { ...entry, metadata: { ...entry.metadata, annotations } });
  }

  /** The proxy disconnected at `at`. */
  async disconnect(ref: ObjectRef, at: Date): Promise<void> {
    const entry = await this.get(ref);
    const annotations: Record<string, string> = { ...entry.metadata.annotations, 'istio.io/disconnectedAt': at.toISOString() };
    delete annotations['istio.io/connectedAt'];
    await this.put(ref, '', { ...entry, metadata: { ...entry.metadata, annotations } });
  }

  /** The sidecar reported its probe's result at `at`. */
  async reportHealth(ref: ObjectRef, healthy: boolean, at: Date, message = ''): Promise<void> {
    const entry = await this.get(ref);
    const condition = { type: 'Healthy', status: healthy ? 'True' : 'False', lastProbeTime: at.toISOString(), lastTransitionTime: at.toISOString(), ...(healthy ? {} : { message }) };
    const others = (entry.status?.conditions ?? []).filter((c) => c.type !== 'Healthy');
    await this.put(ref, '/status', { ...entry, status: { ...entry.status, conditions: [...others, condition] } });
  }

  /** The disconnect grace period ran out: the Healthy condition goes. */
  async forgetHealth(ref: ObjectRef): Promise<void> {
    const entry = await this.get(ref);
    await this.put(ref, '/status', { ...entry, status: { ...entry.status, conditions: (entry.status?.conditions ?? []).filter((c) => c.type !== 'Healthy') } });
  }

  private async get(ref: ObjectRef): Promise<Entry> {
    const answer = await fetch(this.url(ref, ''), { headers: this.headers() });
    if (answer.status !== 200) throw new Error(`istiod: get ${ref.namespace}/${ref.name}: HTTP ${answer.status}`);
    return (await answer.json()) as Entry;
  }

  /**
   * A PUT under the resourceVersion read, of what crdclient sends: `getObjectMetadata`'s fields
   * (name, namespace, labels, annotations, resourceVersion, ownerReferences, uid) and the spec, or the status.
   */
  private async put(ref: ObjectRef, subresource: '' | '/status', entry: Entry): Promise<void> {
    const { name, namespace, labels, annotations, resourceVersion, ownerReferences, uid } = entry.metadata;
    const metadata = { name, namespace, labels, annotations, resourceVersion, ownerReferences, uid };
    const body = { apiVersion: entry.apiVersion, kind: entry.kind, metadata, ...(subresource === '' ? { spec: entry.spec } : { status: entry.status }) };
    const answer = await fetch(this.url(ref, subresource), { method: 'PUT', headers: { ...this.headers(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (answer.status !== 200) throw new Error(`istiod: update${subresource} ${ref.namespace}/${ref.name}: HTTP ${answer.status} ${await answer.text()}`);
  }

  private url(ref: ObjectRef, subresource: string): string {
    return `${this.baseUrl}/apis/networking.istio.io/v1/namespaces/${ref.namespace}/workloadentries/${ref.name}${subresource}`;
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, accept: 'application/json', 'user-agent': `${ISTIOD_MANAGER}/1.28.0` };
  }
}
