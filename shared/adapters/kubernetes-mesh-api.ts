/**
 * MeshApi over the mesh cluster's Kubernetes API server (docs/architecture.md#mesh-api): server-side apply with a fixed
 * field manager, deletes with preconditions, label-selector lists. Plain node:https, no client library.
 */
import { createHttpRequester, HttpTransportError, type HttpAnswer, type HttpRequestOptions } from './http-request.js';
import type { DeletePreconditions, ObjectMeta, ObjectRef, OwnedMetadataKeys, WorkloadEntry, WorkloadGroup } from '../core/kubernetes-types.js';
import { ControlPlaneError, MeshApiError, MeshFieldConflictError, MeshPreconditionError, MeshValidationError, UpstreamThrottledError, type FieldConflict } from '../errors.js';
import type { MeshService, Sidecar } from '../core/mesh-names.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../core/workload-entry.js';
import type { MeshApi, MeshNamesApi } from '../ports.js';

/** Options for {@link KubernetesMeshApi}. */
export interface KubernetesMeshApiOptions {
  baseUrl: string;
  /** A bearer token; `invalidate`, when present, is called once after a 401 to force a fresh one. */
  token: (() => Promise<string>) & { invalidate?: () => void };
  /** Cluster CA (PEM); the system trust store is used when absent. */
  caPem?: string;
  timeoutMs: number;
  fieldManager?: string;
  /** The field manager of istiod's writes, whose fields our apply never takes; {@link ISTIOD_FIELD_MANAGER} by default. */
  istiodFieldManager?: string;
  /** How a throttled (429) request is waited out; {@link MESH_THROTTLING} by default. */
  throttling?: Partial<MeshThrottling>;
  /** Waits `ms` before a throttled request is sent again; injectable so tests need no clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Entries a list asks for at a time (`limit`); {@link LIST_PAGE_SIZE} by default. */
  listPageSize?: number;
}

/** How the adapter answers a 429 with `Retry-After`. */
export interface MeshThrottling {
  /** Tries of one request in all, the first included. */
  attempts: number;
  /** The longest `Retry-After` waited out; a longer one ends the tries at once. */
  maxWaitMs: number;
}

/**
 * API Priority and Fairness rejects a request it has no seat or queue room for with 429 and
 * `Retry-After` in seconds, today always 1 (k8s.io/apiserver pkg/server/filters/maxinflight.go
 * `tooManyRequests`; kubernetes/kubernetes#117734). client-go waits it out and retries, up to
 * `maxRetries` (10) times (rest/request.go: `MaxRetries`, `checkWait`). We retry fewer times and
 * wait less: a task-events batch has 60 s for every task's calls, and a throttled task loses
 * nothing by failing, since SQS delivers its event again (README, "Mesh outage").
 */
export const MESH_THROTTLING: MeshThrottling = { attempts: 3, maxWaitMs: 5_000 };

/**
 * Entries asked for per list request, as kubectl and client-go's pager do: a 10,000-entry mesh
 * is read in pages the API server serves from etcd a range at a time, not in one answer it must
 * build whole in memory (kubernetes.io, "API Concepts": retrieving large results sets in chunks).
 */
export const LIST_PAGE_SIZE = 500;

interface Answer {
  status: number;
  body: unknown;
  /** The `Retry-After` header, as sent. */
  retryAfter?: string;
}

/**
 * The field manager the API server records for istiod's writes. istiod updates entries with
 * `metav1.UpdateOptions{}` (istio/istio pilot/pkg/config/kube/crdclient/types.gen.go, `update` and
 * `updateStatus`), without a fieldManager, so the server names the manager after its User-Agent,
 * `pilot-discovery/<version>` (pkg/kube/util.go, `IstioUserAgent`), up to the '/'.
 */
export const ISTIOD_FIELD_MANAGER = 'pilot-discovery';

const GROUP_PATH = '/apis/networking.istio.io/v1';
const APPLY_PATCH = 'application/apply-patch+yaml';
/**
 * 401 is retryable: tokens expire and secrets rotate, and the provider re-mints or re-reads on the
 * next try. 403 is not: an authenticated identity refused by RBAC needs an operator.
 */
function isRetryableStatus(status: number): boolean {
  return status === 401 || status === 429 || status >= 500;
}

/** The mesh's Kubernetes API server. */
export class KubernetesMeshApi implements MeshApi, MeshNamesApi {
  private readonly baseUrl: string;
  private readonly fieldManager: string;
  private readonly istiodFieldManager: string;
  private readonly http: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;
  private readonly throttling: MeshThrottling;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly listPageSize: number;

  constructor(private readonly options: KubernetesMeshApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fieldManager = options.fieldManager ?? 'ecs-mesh-onboarding';
    this.istiodFieldManager = options.istiodFieldManager ?? ISTIOD_FIELD_MANAGER;
    this.http = createHttpRequester({ caPem: options.caPem, timeoutMs: options.timeoutMs });
    this.throttling = { ...MESH_THROTTLING, ...options.throttling };
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.listPageSize = options.listPageSize ?? LIST_PAGE_SIZE;
  }

  async getWorkloadGroup(ref: ObjectRef): Promise<WorkloadGroup | undefined> {
    const answer = await this.request('GET', objectPath('workloadgroups', ref));
    if (answer.status === 404) return undefined;
    return toWorkloadGroup(this.expectOk(answer, `get WorkloadGroup ${ref.namespace}/${ref.name}`));
  }

  async getWorkloadEntry(ref: ObjectRef): Promise<WorkloadEntry | undefined> {
    const answer = await this.request('GET', objectPath('workloadentries', ref));
    if (answer.status === 404) return undefined;
    return toWorkloadEntry(this.expectOk(answer, `get WorkloadEntry ${ref.namespace}/${ref.name}`), this.fieldManager);
  }

  async applyWorkloadEntry(entry: WorkloadEntry): Promise<WorkloadEntry> {
    const configuration = applyConfiguration(entry);
    const what = `WorkloadEntry ${entry.metadata.namespace}/${entry.metadata.name}`;
    // Loaded at the first write (and still before it): only the writers (task-events, reconcile)
    // ever run it, so the readers' cold starts do not evaluate the CRD schemas and the CEL library.
    const { validateWorkloadEntry } = await import('../core/workload-entry-validation.js');
    const checked = validateWorkloadEntry(configuration);
    if (!checked.ok) throw new MeshValidationError(`${what} is invalid`, checked.problems);
    // Without force: the entry is shared with istiod (README, "Which part of an entry is ours"),
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
    return toWorkloadEntry(this.expectOk(answer, `apply ${what}`), this.fieldManager);
  }

  private apply(plural: string, ref: ObjectRef, body: string, force: boolean): Promise<Answer> {
    const query = new URLSearchParams({ fieldManager: this.fieldManager, ...(force ? { force: 'true' } : {}), fieldValidation: 'Strict' });
    return this.request('PATCH', `${objectPath(plural, ref)}?${query}`, { body, contentType: APPLY_PATCH });
  }

  async deleteWorkloadEntry(ref: ObjectRef, preconditions: DeletePreconditions): Promise<boolean> {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions });
    const answer = await this.request('DELETE', objectPath('workloadentries', ref), { body, contentType: 'application/json' });
    if (answer.status === 404) return false;
    if (answer.status === 409)
      throw new MeshPreconditionError(`WorkloadEntry ${ref.namespace}/${ref.name} changed since it was read: ${describeStatus(answer.body)}`);
    this.expectOk(answer, `delete WorkloadEntry ${ref.namespace}/${ref.name}`);
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
    this.expectOk(answer, `apply ${what}`);
  }

  /** `false` when it was already gone. */
  async deleteSidecar(ref: ObjectRef): Promise<boolean> {
    const answer = await this.request('DELETE', objectPath('sidecars', ref));
    if (answer.status === 404) return false;
    this.expectOk(answer, `delete Sidecar ${ref.namespace}/${ref.name}`);
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
      const answer = await this.request('GET', `${collection}?${query}`);
      if (answer.status === 410 && token !== undefined) return 'expired';
      const list = this.expectOk(answer, `list ${what}`);
      const items = isRecord(list) ? list.items : undefined;
      if (!Array.isArray(items)) throw new MeshApiError(`list ${what}: the answer has no items`, { status: answer.status });
      objects.push(...items.map(convert));
      const metadata = isRecord(list) && isRecord(list.metadata) ? list.metadata : {};
      token = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
    } while (token !== undefined);
    return objects;
  }

  private expectOk(answer: Answer, action: string): unknown {
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw new MeshApiError(`${action}: HTTP ${answer.status} ${describeStatus(answer.body)}`, {
      status: answer.status,
      retryable: isRetryableStatus(answer.status),
    });
  }

  /**
   * One call. A 429 with `Retry-After` is waited out and sent again, up to the throttling's
   * attempts: API Priority and Fairness rejects before the request runs, so even a write is safe
   * to repeat. A 429 still standing (or without `Retry-After`, which client-go does not retry
   * either, or asking a longer wait than we give) is UpstreamThrottledError: the caller fails
   * retryably and the work comes back (SQS redelivery, the next reconcile pass).
   */
  private async request(method: string, path: string, payload?: { body: string; contentType: string }): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.authenticated(method, path, payload);
      if (answer.status !== 429) return answer;
      const waitMs = retryAfterMs(answer.retryAfter);
      if (waitMs === undefined || waitMs > this.throttling.maxWaitMs || attempt >= this.throttling.attempts) {
        const asked = answer.retryAfter === undefined ? 'no Retry-After' : `Retry-After: ${answer.retryAfter}`;
        const status = describeStatus(answer.body);
        throw new UpstreamThrottledError(`${method} ${path}: the Kubernetes API is throttling (HTTP 429, ${asked}) after ${attempt} attempt(s)${status ? `: ${status}` : ''}`);
      }
      await this.sleep(waitMs);
    }
  }

  /** One call; a 401 is retried once with a fresh token, since tokens expire and secrets rotate. */
  private async authenticated(method: string, path: string, payload?: { body: string; contentType: string }): Promise<Answer> {
    const first = await this.send(method, path, payload);
    if (first.status !== 401 || !this.options.token.invalidate) return first;
    this.options.token.invalidate();
    return this.send(method, path, payload);
  }

  private async send(method: string, path: string, payload?: { body: string; contentType: string }): Promise<Answer> {
    const token = await this.bearerToken();
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (payload) headers['content-type'] = payload.contentType;
    try {
      const answer = await this.http(`${this.baseUrl}${path}`, { method, headers, ...(payload ? { body: payload.body } : {}) });
      const retryAfter = answer.headers['retry-after'];
      return { status: answer.status, body: parseJson(answer.text), ...(typeof retryAfter === 'string' ? { retryAfter } : {}) };
    } catch (error) {
      throw transportError(error, method, path, this.options.timeoutMs);
    }
  }

  private async bearerToken(): Promise<string> {
    try {
      return await this.options.token();
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      throw new MeshApiError('could not obtain a token for the Kubernetes API', { cause: error, retryable: true });
    }
  }
}

/**
 * `Retry-After` in milliseconds, read as client-go does (rest/request.go `retryAfterSeconds`):
 * delta-seconds only; the HTTP-date form, which the API server never sends, counts as absent.
 */
function retryAfterMs(header: string | undefined): number | undefined {
  return header !== undefined && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined;
}

function objectPath(plural: string, ref: ObjectRef): string {
  return `${GROUP_PATH}/namespaces/${encodeURIComponent(ref.namespace)}/${plural}/${encodeURIComponent(ref.name)}`;
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

function transportError(error: unknown, method: string, path: string, timeoutMs: number): MeshApiError {
  const code = error instanceof HttpTransportError ? error.code : 'NETWORK_ERROR';
  if (code === 'TIMEOUT') return new MeshApiError(`${method} ${path}: no answer within ${timeoutMs} ms`, { cause: error, retryable: true });
  return new MeshApiError(`${method} ${path}: Kubernetes API unreachable (${code})`, { cause: error, retryable: true });
}

// Answers are parsed defensively: a proxy or an old server may send anything, and nothing from
// the body beyond Kubernetes' own Status message reaches an error.

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Status object's reason and message, shortened; empty for anything else. */
function describeStatus(body: unknown): string {
  if (!isRecord(body) || body.kind !== 'Status') return '';
  const reason = typeof body.reason === 'string' ? `${body.reason}: ` : '';
  const message = typeof body.message === 'string' ? body.message : '';
  return `${reason}${message}`.slice(0, 500);
}

/** `details.causes[].message` of a 422 Status (the CRD's messages), or its message. */
function validationCauses(body: unknown): string[] {
  const details = isRecord(body) && isRecord(body.details) ? body.details : {};
  const causes = Array.isArray(details.causes) ? details.causes : [];
  const messages = causes.filter(isRecord).map((c) => (typeof c.field === 'string' && typeof c.message === 'string' && !c.message.startsWith(c.field) ? `${c.field}: ${c.message}` : c.message));
  const strings = messages.filter((m): m is string => typeof m === 'string');
  return strings.length > 0 ? strings : [describeStatus(body) || 'refused as invalid'];
}

function toObjectMeta(value: unknown, kind: string): ObjectMeta {
  const meta = isRecord(value) && isRecord(value.metadata) ? value.metadata : undefined;
  if (!meta || typeof meta.name !== 'string' || typeof meta.namespace !== 'string')
    throw new MeshApiError(`the Kubernetes API answered with a malformed ${kind}`);
  const strings = (v: unknown) => (isRecord(v) && Object.values(v).every((x) => typeof x === 'string') ? (v as Record<string, string>) : undefined);
  const result: ObjectMeta = { name: meta.name, namespace: meta.namespace };
  if (typeof meta.uid === 'string') result.uid = meta.uid;
  if (typeof meta.resourceVersion === 'string') result.resourceVersion = meta.resourceVersion;
  if (typeof meta.creationTimestamp === 'string') result.creationTimestamp = meta.creationTimestamp;
  const labels = strings(meta.labels);
  if (labels) result.labels = labels;
  const annotations = strings(meta.annotations);
  if (annotations) result.annotations = annotations;
  if (Array.isArray(meta.ownerReferences)) result.ownerReferences = meta.ownerReferences.filter(isRecord) as unknown as ObjectMeta['ownerReferences'];
  return result;
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

function toWorkloadGroup(value: unknown): WorkloadGroup {
  const metadata = toObjectMeta(value, 'WorkloadGroup');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  const apiVersion = isRecord(value) && typeof value.apiVersion === 'string' ? value.apiVersion : 'networking.istio.io/v1';
  return { apiVersion, kind: 'WorkloadGroup', metadata, spec: spec as WorkloadGroup['spec'] };
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
