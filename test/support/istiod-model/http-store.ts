/**
 * istiod's WorkloadEntry reads and writes made over HTTP, as istiod's config store makes them, so
 * the API server (the double) authorizes them against istiod's RBAC and records their field
 * manager. istio: pilot/pkg/config/kube/crdclient/types.gen.go `update`, `updateStatus` and
 * `delete`: a PUT of the whole object under its resourceVersion (controller.go: "use update instead
 * of patch to prevent race condition"), a PUT of the status subresource, a DELETE with a
 * resourceVersion precondition; `metav1.UpdateOptions{}` carries no fieldManager, so the API server
 * names the manager after the User-Agent (upstream.ts, ISTIOD_FIELD_MANAGER). `double-store.ts`
 * makes the same writes in-process.
 */
import type { PolicyRule } from '../kubernetes/rbac.js';
import { ISTIOD_FIELD_MANAGER } from './upstream.js';
import type { ModelWorkloadEntry } from './endpoints.js';
import { sidecarConnectionOf, WorkloadEntryControllerModel, type ModelConnection, type StoredWorkloadEntry, type WorkloadEntryStore } from './workload-entry-controller.js';

/** What istiod's ClusterRole grants on entries (manifests/charts/istio-control/istio-discovery/templates/clusterrole.yaml). */
export const ISTIOD_RBAC: PolicyRule[] = [
  { apiGroups: ['networking.istio.io'], verbs: ['get', 'watch', 'list', 'update', 'patch', 'create', 'delete'], resources: ['workloadentries'] },
  { apiGroups: ['networking.istio.io'], verbs: ['get', 'watch', 'list', 'update', 'patch', 'create', 'delete'], resources: ['workloadentries/status', 'serviceentries/status'] },
];

const PREFIX = '/apis/networking.istio.io/v1';

/** A {@link WorkloadEntryStore} over the Kubernetes API at `baseUrl`, as istiod with the bearer `token`. */
export class HttpWorkloadEntryStore implements WorkloadEntryStore {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async get(namespace: string, name: string): Promise<StoredWorkloadEntry | undefined> {
    const answer = await fetch(this.url(namespace, name), { headers: this.headers() });
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw new Error(`istiod: get ${namespace}/${name}: HTTP ${answer.status} ${await answer.text()}`);
    return (await answer.json()) as StoredWorkloadEntry;
  }

  async list(): Promise<StoredWorkloadEntry[]> {
    const answer = await fetch(`${this.baseUrl}${PREFIX}/workloadentries`, { headers: this.headers() });
    if (answer.status !== 200) throw new Error(`istiod: list: HTTP ${answer.status} ${await answer.text()}`);
    return ((await answer.json()) as { items: StoredWorkloadEntry[] }).items;
  }

  update(entry: StoredWorkloadEntry): Promise<void> {
    return this.put(entry, '');
  }

  updateStatus(entry: StoredWorkloadEntry): Promise<void> {
    return this.put(entry, '/status');
  }

  async delete(namespace: string, name: string, resourceVersion: string | undefined): Promise<void> {
    const body = resourceVersion === undefined ? '' : JSON.stringify({ preconditions: { resourceVersion } });
    const answer = await fetch(this.url(namespace, name), { method: 'DELETE', headers: { ...this.headers(), 'content-type': 'application/json' }, body });
    if (answer.status !== 200 && answer.status !== 404) throw new Error(`istiod: delete ${namespace}/${name}: HTTP ${answer.status} ${await answer.text()}`);
  }

  /**
   * A PUT under the resourceVersion read, of what crdclient sends: `getObjectMetadata`'s fields
   * (name, namespace, labels, annotations, resourceVersion, ownerReferences, uid) and the spec, or the status.
   */
  private async put(entry: StoredWorkloadEntry, subresource: '' | '/status'): Promise<void> {
    const { name, namespace, labels, annotations, resourceVersion, ownerReferences, uid } = entry.metadata as StoredWorkloadEntry['metadata'] & Record<string, unknown>;
    const metadata = { name, namespace, labels, annotations, resourceVersion, ownerReferences, uid };
    const body = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata, ...(subresource === '' ? { spec: entry.spec } : { status: entry.status }) };
    const answer = await fetch(`${this.url(namespace, name)}${subresource}`, { method: 'PUT', headers: { ...this.headers(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (answer.status !== 200) throw new Error(`istiod: update${subresource} ${namespace}/${name}: HTTP ${answer.status} ${await answer.text()}`);
  }

  private url(namespace: string, name: string): string {
    return `${this.baseUrl}${PREFIX}/namespaces/${namespace}/workloadentries/${name}`;
  }

  /** istio: pkg/kube/util.go, IstioUserAgent (`pilot-discovery/<version>`). */
  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, accept: 'application/json', 'user-agent': `${ISTIOD_FIELD_MANAGER}/1.28.0` };
  }
}

/** One istiod instance whose WorkloadEntry controller writes over HTTP at `baseUrl` as the bearer `token` (an identity granted {@link ISTIOD_RBAC}). */
export function istiodOverHttp(baseUrl: string, token: string, instanceId = 'istiod-7d4b9c8f6-x2x9q'): WorkloadEntryControllerModel {
  return new WorkloadEntryControllerModel({ instanceId, store: new HttpWorkloadEntryStore(baseUrl, token) });
}

/**
 * The sidecar of `entry` connecting to `istiod` at `connectedAt` (its identity verified as the
 * entry's): istiod takes control of the entry and writes its annotations. Throws unless it did,
 * e.g. for an entry without health checks, which istiod leaves alone.
 */
export async function connectSidecar(istiod: WorkloadEntryControllerModel, entry: ModelWorkloadEntry, connectedAt: Date): Promise<ModelConnection> {
  const conn = sidecarConnectionOf(entry, connectedAt);
  const controlled = await istiod.onConnect(conn);
  if (controlled !== entry.metadata.name) throw new Error(`istiod did not take control of ${entry.metadata.namespace}/${entry.metadata.name} on connect (it answered ${String(controlled)})`);
  return conn;
}
