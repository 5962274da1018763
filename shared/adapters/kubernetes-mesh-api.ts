/**
 * MeshApi over the mesh cluster's Kubernetes API server (docs/architecture.md#mesh-api): the entry
 * writer. Server-side apply with a fixed field manager, checked first against Istio's CRD (loaded at
 * the first write), deletes with preconditions, label-selector lists; groups are read as the
 * WorkloadGroup reader reads them (kubernetes-workload-groups.ts), over the same connection
 * (kubernetes-api.ts). Only task-events and the reconciler write entries, so only they import this.
 */
import type { DeletePreconditions, ObjectRef, OwnedMetadataKeys, WorkloadEntry, WorkloadGroup } from '../core/kubernetes-types.js';
import { MeshApiError, MeshFieldConflictError, MeshPreconditionError, MeshValidationError, type FieldConflict } from '../errors.js';
import type { MeshService, Sidecar } from '../core/mesh-names.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../core/workload-entry.js';
import type { MeshApi, MeshNamesApi } from '../ports.js';
import { describeStatus, GROUP_PATH, isRecord, KubernetesApi, objectPath, toObjectMeta, type Answer, type KubernetesApiOptions } from './kubernetes-api.js';
import { KubernetesWorkloadGroupReader, toWorkloadGroup } from './kubernetes-workload-groups.js';

export { MESH_THROTTLING, type MeshThrottling } from './kubernetes-api.js';

/** Options for {@link KubernetesMeshApi}: the connection's, and the writer's own. */
export interface KubernetesMeshApiOptions extends KubernetesApiOptions {
  fieldManager?: string;
  /** The field manager of istiod's writes, whose fields our apply never takes; {@link ISTIOD_FIELD_MANAGER} by default. */
  istiodFieldManager?: string;
  /** Entries a list asks for at a time (`limit`); {@link LIST_PAGE_SIZE} by default. */
  listPageSize?: number;
}


/**
 * Entries asked for per list request, as kubectl and client-go's pager do: a 10,000-entry mesh
 * is read in pages the API server serves from etcd a range at a time, not in one answer it must
 * build whole in memory (kubernetes.io, "API Concepts": retrieving large results sets in chunks).
 */
export const LIST_PAGE_SIZE = 500;

/**
 * The field manager the API server records for istiod's writes. istiod updates entries with
 * `metav1.UpdateOptions{}` (istio/istio pilot/pkg/config/kube/crdclient/types.gen.go, `update` and
 * `updateStatus`), without a fieldManager, so the server names the manager after its User-Agent,
 * `pilot-discovery/<version>` (pkg/kube/util.go, `IstioUserAgent`), up to the '/'.
 */
export const ISTIOD_FIELD_MANAGER = 'pilot-discovery';

const APPLY_PATCH = 'application/apply-patch+yaml';

/** The mesh's Kubernetes API server. */
export class KubernetesMeshApi implements MeshApi, MeshNamesApi {
  private readonly api: KubernetesApi;
  private readonly groups: KubernetesWorkloadGroupReader;
  private readonly fieldManager: string;
  private readonly istiodFieldManager: string;
  private readonly listPageSize: number;

  constructor(options: KubernetesMeshApiOptions) {
    this.api = new KubernetesApi(options);
    this.groups = new KubernetesWorkloadGroupReader(this.api);
    this.fieldManager = options.fieldManager ?? 'ecs-mesh-onboarding';
    this.istiodFieldManager = options.istiodFieldManager ?? ISTIOD_FIELD_MANAGER;
    this.listPageSize = options.listPageSize ?? LIST_PAGE_SIZE;
  }

  getWorkloadGroup(ref: ObjectRef): Promise<WorkloadGroup | undefined> {
    return this.groups.getWorkloadGroup(ref);
  }

  async getWorkloadEntry(ref: ObjectRef): Promise<WorkloadEntry | undefined> {
    const answer = await this.api.request('GET', objectPath('workloadentries', ref));
    if (answer.status === 404) return undefined;
    return toWorkloadEntry(this.api.expectOk(answer, `get WorkloadEntry ${ref.namespace}/${ref.name}`), this.fieldManager);
  }

  async applyWorkloadEntry(entry: WorkloadEntry): Promise<WorkloadEntry> {
    const configuration = applyConfiguration(entry);
    const what = `WorkloadEntry ${entry.metadata.namespace}/${entry.metadata.name}`;
    // Loaded at the first write (and still before it): only the writers (task-events, reconcile)
    // ever run it, so the readers' cold starts do not evaluate the CRD schemas and the CEL library.
    const { validateWorkloadEntry } = await import('../core/workload-entry-validation.js');
    const checked = validateWorkloadEntry(configuration);
    if (!checked.ok) throw new MeshValidationError(`${what} is invalid`, checked.problems);
    // Without force: the entry is shared with istiod (docs/enrollment.md#which-part-of-an-entry-is-ours),
    // so a field another manager owns must not be taken silently. fieldValidation=Strict makes
    // the server refuse unknown fields instead of silently pruning them.
    const body = JSON.stringify(configuration);
    let answer = await this.apply('workloadentries', entry.metadata, body, false);
    if (answer.status === 409) {
      const conflicts = fieldConflicts(answer.body);
      const istiods = conflicts.filter((c) => c.manager === this.istiodFieldManager);
      if (conflicts.length === 0 || istiods.length > 0) {
        const named = (istiods.length > 0 ? istiods : conflicts).map((c) => `${c.field} (${c.manager})`).join(', ');
        throw new MeshFieldConflictError(`${what}: the apply would take ${named || 'fields'} from ${istiods.length > 0 ? 'istiod' : 'another manager'}: ${describeStatus(answer.body)}`, conflicts);
      }
      // Every field we send is ours (what the group and the task call for): a hand edit or another
      // tool that changed one loses it. force takes only the fields we send, never istiod's.
      answer = await this.apply('workloadentries', entry.metadata, body, true);
    }
    if (answer.status === 422) throw new MeshValidationError(`${what} refused: ${describeStatus(answer.body)}`, validationCauses(answer.body));
    return toWorkloadEntry(this.api.expectOk(answer, `apply ${what}`), this.fieldManager);
  }

  private apply(plural: string, ref: ObjectRef, body: string, force: boolean): Promise<Answer> {
    const query = new URLSearchParams({ fieldManager: this.fieldManager, ...(force ? { force: 'true' } : {}), fieldValidation: 'Strict' });
    return this.api.request('PATCH', `${objectPath(plural, ref)}?${query}`, { body, contentType: APPLY_PATCH });
  }

  async deleteWorkloadEntry(ref: ObjectRef, preconditions: DeletePreconditions): Promise<boolean> {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions });
    const answer = await this.api.request('DELETE', objectPath('workloadentries', ref), { body, contentType: 'application/json' });
    if (answer.status === 404) return false;
    if (answer.status === 409)
      throw new MeshPreconditionError(`WorkloadEntry ${ref.namespace}/${ref.name} changed since it was read: ${describeStatus(answer.body)}`);
    this.api.expectOk(answer, `delete WorkloadEntry ${ref.namespace}/${ref.name}`);
    return true;
  }

  async listWorkloadEntries(labels: Record<string, string>, namespace?: string): Promise<WorkloadEntry[]> {
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const collection = namespace === undefined ? `${GROUP_PATH}/workloadentries` : `${GROUP_PATH}/namespaces/${encodeURIComponent(namespace)}/workloadentries`;
    return this.listAll(collection, selector, 'WorkloadEntries', (item) => toWorkloadEntry(item, this.fieldManager));
  }

  /** Every WorkloadGroup of every namespace (the names function reads their declarations). */
  async listWorkloadGroups(): Promise<WorkloadGroup[]> {
    return this.listAll(`${GROUP_PATH}/workloadgroups`, '', 'WorkloadGroups', toWorkloadGroup);
  }

  /** The Services of a namespace: their names and ports. */
  async listServices(namespace: string): Promise<MeshService[]> {
    return this.listAll(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services`, '', 'Services', toMeshService);
  }

  /** Every Sidecar of ours (our managed-by label), in every namespace. */
  async listOwnSidecars(): Promise<Sidecar[]> {
    return this.listAll(`${GROUP_PATH}/sidecars`, `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`, 'Sidecars', toSidecar);
  }

  /**
   * Server-side apply of a Sidecar of ours, with force: the whole object is what the group's
   * declaration calls for, so a hand edit of it is drift the next pass repairs.
   */
  async applySidecar(sidecar: Sidecar): Promise<void> {
    const what = `Sidecar ${sidecar.metadata.namespace}/${sidecar.metadata.name}`;
    const { validateSidecar } = await import('../core/sidecar-validation.js');
    const checked = validateSidecar(sidecar);
    if (!checked.ok) throw new MeshValidationError(`${what} is invalid`, checked.problems);
    const answer = await this.apply('sidecars', sidecar.metadata, JSON.stringify(sidecar), true);
    if (answer.status === 422) throw new MeshValidationError(`${what} refused: ${describeStatus(answer.body)}`, validationCauses(answer.body));
    this.api.expectOk(answer, `apply ${what}`);
  }

  /** `false` when it was already gone. */
  async deleteSidecar(ref: ObjectRef): Promise<boolean> {
    const answer = await this.api.request('DELETE', objectPath('sidecars', ref));
    if (answer.status === 404) return false;
    this.api.expectOk(answer, `delete Sidecar ${ref.namespace}/${ref.name}`);
    return true;
  }

  /**
   * Every page of a list. The continue token can outlive etcd's compaction (410 Gone, after about
   * 5 minutes): the pages read so far and the rest would not be one snapshot, so the list starts
   * over, once.
   */
  private async listAll<T>(collection: string, selector: string, what: string, convert: (item: unknown) => T): Promise<T[]> {
    const first = await this.listPages(collection, selector, what, convert);
    if (first !== 'expired') return first;
    const again = await this.listPages(collection, selector, what, convert);
    if (again !== 'expired') return again;
    throw new MeshApiError(`list ${what}: the continue token expired twice`, { status: 410, retryable: true });
  }

  /** Every page of a list (`limit`, then `continue` until the server sends none), or `expired` on a 410 mid-list. */
  private async listPages<T>(collection: string, selector: string, what: string, convert: (item: unknown) => T): Promise<T[] | 'expired'> {
    const objects: T[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ ...(selector ? { labelSelector: selector } : {}), limit: String(this.listPageSize), ...(token ? { continue: token } : {}) });
      const answer = await this.api.request('GET', `${collection}?${query}`);
      if (answer.status === 410 && token !== undefined) return 'expired';
      const list = this.api.expectOk(answer, `list ${what}`);
      const items = isRecord(list) ? list.items : undefined;
      if (!Array.isArray(items)) throw new MeshApiError(`list ${what}: the answer has no items`, { status: answer.status });
      objects.push(...items.map(convert));
      const metadata = isRecord(list) && isRecord(list.metadata) ? list.metadata : {};
      token = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
    } while (token !== undefined);
    return objects;
  }
}

/** Only the fields we mean to own: server-set metadata in an apply would be read as preconditions. */
function applyConfiguration(entry: WorkloadEntry): WorkloadEntry {
  const { name, namespace, labels, annotations, ownerReferences } = entry.metadata;
  return {
    apiVersion: entry.apiVersion,
    kind: entry.kind,
    metadata: { name, namespace, ...(labels && { labels }), ...(annotations && { annotations }), ...(ownerReferences && { ownerReferences }) },
    spec: entry.spec,
  };
}

/** `details.causes[].message` of a 422 Status (the CRD's messages), or its message. */
function validationCauses(body: unknown): string[] {
  const details = isRecord(body) && isRecord(body.details) ? body.details : {};
  const causes = Array.isArray(details.causes) ? details.causes : [];
  const messages = causes.filter(isRecord).map((c) => (typeof c.field === 'string' && typeof c.message === 'string' && !c.message.startsWith(c.field) ? `${c.field}: ${c.message}` : c.message));
  const strings = messages.filter((m): m is string => typeof m === 'string');
  return strings.length > 0 ? strings : [describeStatus(body) || 'refused as invalid'];
}

function toWorkloadEntry(value: unknown, fieldManager: string): WorkloadEntry {
  const metadata = toObjectMeta(value, 'WorkloadEntry');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  const ownedKeys = ownedMetadataKeys(value, fieldManager);
  return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata, spec: spec as WorkloadEntry['spec'], ...(ownedKeys ? { ownedKeys } : {}) };
}

/**
 * The label and annotation keys `managedFields` records as `fieldManager`'s applied ones
 * (FieldsV1: `{"f:metadata": {"f:labels": {"f:app": {}}}}`), or `undefined` when the object has no
 * `managedFields` at all (then ownership is unknown and every key counts as ours).
 */
function ownedMetadataKeys(value: unknown, fieldManager: string): OwnedMetadataKeys | undefined {
  const managed = isRecord(value) && isRecord(value.metadata) ? value.metadata.managedFields : undefined;
  if (!Array.isArray(managed)) return undefined;
  const ours = managed.filter(isRecord).find((m) => m.manager === fieldManager && m.operation === 'Apply' && m.subresource === undefined);
  const metadata = isRecord(ours?.fieldsV1) && isRecord(ours.fieldsV1['f:metadata']) ? ours.fieldsV1['f:metadata'] : {};
  const keys = (map: unknown) => (isRecord(map) ? Object.keys(map).filter((k) => k.startsWith('f:')).map((k) => k.slice(2)) : []);
  return { labels: keys(metadata['f:labels']), annotations: keys(metadata['f:annotations']) };
}

/**
 * The FieldManagerConflict causes of a 409 apply (k8s.io/apiserver fieldmanager `NewConflictError`:
 * message `conflict with "<manager>"` or `conflict with "<manager>" using <apiVersion>`, field the path).
 */
function fieldConflicts(body: unknown): FieldConflict[] {
  const details = isRecord(body) && isRecord(body.details) ? body.details : {};
  const causes = Array.isArray(details.causes) ? details.causes.filter(isRecord) : [];
  return causes.flatMap((c) => {
    const manager = typeof c.message === 'string' ? /conflict with "([^"]*)"/.exec(c.message)?.[1] : undefined;
    return c.reason === 'FieldManagerConflict' && manager !== undefined && typeof c.field === 'string' ? [{ manager, field: c.field }] : [];
  });
}

function toMeshService(value: unknown): MeshService {
  const { name, namespace } = toObjectMeta(value, 'Service');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).filter(isRecord).flatMap((p) =>
    typeof p.port === 'number' ? [{ port: p.port, ...(typeof p.name === 'string' ? { name: p.name } : {}), ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}) }] : [],
  );
  return { namespace, name, ports };
}

function toSidecar(value: unknown): Sidecar {
  const { name, namespace, labels } = toObjectMeta(value, 'Sidecar');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  return { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name, namespace, labels: labels ?? {} }, spec: spec as unknown as Sidecar['spec'] };
}
