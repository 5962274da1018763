/**
 * MeshApi over the mesh cluster's Kubernetes API server (docs/architecture.md#mesh-api): server-side apply with a fixed
 * field manager, deletes with preconditions, label-selector lists. Plain node:https, no client library.
 */
import { createHttpRequester, HttpTransportError, type HttpAnswer, type HttpRequestOptions } from './http-request.js';
import type { DeletePreconditions, ObjectMeta, ObjectRef, WorkloadEntry, WorkloadGroup } from '../core/kubernetes-types.js';
import { ControlPlaneError, MeshApiError, MeshPreconditionError, MeshValidationError } from '../errors.js';
import type { MeshApi } from '../ports.js';

/** Options for {@link KubernetesMeshApi}. */
export interface KubernetesMeshApiOptions {
  baseUrl: string;
  /** A bearer token; `invalidate`, when present, is called once after a 401 to force a fresh one. */
  token: (() => Promise<string>) & { invalidate?: () => void };
  /** Cluster CA (PEM); the system trust store is used when absent. */
  caPem?: string;
  timeoutMs: number;
  fieldManager?: string;
}

interface Answer {
  status: number;
  body: unknown;
}

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
export class KubernetesMeshApi implements MeshApi {
  private readonly baseUrl: string;
  private readonly fieldManager: string;
  private readonly http: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;

  constructor(private readonly options: KubernetesMeshApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fieldManager = options.fieldManager ?? 'ecs-mesh-onboarding';
    this.http = createHttpRequester({ caPem: options.caPem, timeoutMs: options.timeoutMs });
  }

  async getWorkloadGroup(ref: ObjectRef): Promise<WorkloadGroup | undefined> {
    const answer = await this.request('GET', objectPath('workloadgroups', ref));
    if (answer.status === 404) return undefined;
    return toWorkloadGroup(this.expectOk(answer, `get WorkloadGroup ${ref.namespace}/${ref.name}`));
  }

  async getWorkloadEntry(ref: ObjectRef): Promise<WorkloadEntry | undefined> {
    const answer = await this.request('GET', objectPath('workloadentries', ref));
    if (answer.status === 404) return undefined;
    return toWorkloadEntry(this.expectOk(answer, `get WorkloadEntry ${ref.namespace}/${ref.name}`));
  }

  async applyWorkloadEntry(entry: WorkloadEntry): Promise<WorkloadEntry> {
    const configuration = applyConfiguration(entry);
    const what = `WorkloadEntry ${entry.metadata.namespace}/${entry.metadata.name}`;
    // Loaded at the first write (and still before it): only the writers (task-events, reconcile)
    // ever run it, so the readers' cold starts do not evaluate the CRD schemas and the CEL library.
    const { validateWorkloadEntry } = await import('../core/workload-entry-validation.js');
    const checked = validateWorkloadEntry(configuration);
    if (!checked.ok) throw new MeshValidationError(`${what} is invalid`, checked.problems);
    // force: the entry is ours alone (docs/architecture.md#mesh-api), so another manager's stale claim must not block it;
    // fieldValidation=Strict makes the server refuse unknown fields instead of silently pruning them.
    const query = new URLSearchParams({ fieldManager: this.fieldManager, force: 'true', fieldValidation: 'Strict' });
    const answer = await this.request('PATCH', `${objectPath('workloadentries', entry.metadata)}?${query}`, {
      body: JSON.stringify(configuration),
      contentType: APPLY_PATCH,
    });
    if (answer.status === 422) throw new MeshValidationError(`${what} refused: ${describeStatus(answer.body)}`, validationCauses(answer.body));
    return toWorkloadEntry(this.expectOk(answer, `apply ${what}`));
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
    const answer = await this.request('GET', selector ? `${collection}?${new URLSearchParams({ labelSelector: selector })}` : collection);
    const list = this.expectOk(answer, 'list WorkloadEntries');
    const items = typeof list === 'object' && list !== null ? (list as { items?: unknown }).items : undefined;
    if (!Array.isArray(items)) throw new MeshApiError('list WorkloadEntries: the answer has no items', { status: answer.status });
    return items.map(toWorkloadEntry);
  }

  private expectOk(answer: Answer, action: string): unknown {
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw new MeshApiError(`${action}: HTTP ${answer.status} ${describeStatus(answer.body)}`, {
      status: answer.status,
      retryable: isRetryableStatus(answer.status),
    });
  }

  /** One call; a 401 is retried once with a fresh token, since tokens expire and secrets rotate. */
  private async request(method: string, path: string, payload?: { body: string; contentType: string }): Promise<Answer> {
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
      return { status: answer.status, body: parseJson(answer.text) };
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

function toWorkloadEntry(value: unknown): WorkloadEntry {
  const metadata = toObjectMeta(value, 'WorkloadEntry');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata, spec: spec as WorkloadEntry['spec'] };
}

function toWorkloadGroup(value: unknown): WorkloadGroup {
  const metadata = toObjectMeta(value, 'WorkloadGroup');
  const spec = isRecord(value) && isRecord(value.spec) ? value.spec : {};
  const apiVersion = isRecord(value) && typeof value.apiVersion === 'string' ? value.apiVersion : 'networking.istio.io/v1';
  return { apiVersion, kind: 'WorkloadGroup', metadata, spec: spec as WorkloadGroup['spec'] };
}
