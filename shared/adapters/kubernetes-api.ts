/**
 * The mesh cluster's Kubernetes API server (docs/architecture.md#mesh-api), as both mesh adapters
 * reach it: a bearer token renewed after a 401, 429s waited out, transport errors and Status
 * answers turned into MeshApiError. Plain node:https, no client library. Shared by the WorkloadGroup
 * reader and the entry writer; nothing here writes or validates an entry, so a function that only
 * reads groups bundles none of the writer (nor the CRD validator the writer loads at its first write).
 */
import { createHttpRequester, HttpTransportError, type HttpAnswer, type HttpRequestOptions } from './http-request.js';
import type { ObjectMeta, ObjectRef } from '../core/kubernetes-types.js';
import { ControlPlaneError, MeshApiError, UpstreamThrottledError } from '../errors.js';

/** How to reach the API server: what the reader and the writer both take. */
export interface KubernetesApiOptions {
  baseUrl: string;
  /** A bearer token; `invalidate`, when present, is called once after a 401 to force a fresh one. */
  token: (() => Promise<string>) & { invalidate?: () => void };
  /** Cluster CA (PEM); the system trust store is used when absent. */
  caPem?: string;
  timeoutMs: number;
  /** How a throttled (429) request is waited out; {@link MESH_THROTTLING} by default. */
  throttling?: Partial<MeshThrottling>;
  /** Waits `ms` before a throttled request is sent again; injectable so tests need no clock. */
  sleep?: (ms: number) => Promise<void>;
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
 * nothing by failing, since SQS delivers its event again (docs/operate.md#mesh-outage).
 */
export const MESH_THROTTLING: MeshThrottling = { attempts: 3, maxWaitMs: 5_000 };

/** One answer of the API server, its body parsed. */
export interface Answer {
  status: number;
  body: unknown;
  /** The `Retry-After` header, as sent. */
  retryAfter?: string;
}

export const GROUP_PATH = '/apis/networking.istio.io/v1';

/**
 * 401 is retryable: tokens expire and secrets rotate, and the provider re-mints or re-reads on the
 * next try. 403 is not: an authenticated identity refused by RBAC needs an operator.
 */
function isRetryableStatus(status: number): boolean {
  return status === 401 || status === 429 || status >= 500;
}

/** Requests to the API server, authenticated and throttled as above. */
export class KubernetesApi {
  private readonly baseUrl: string;
  private readonly http: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;
  private readonly throttling: MeshThrottling;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: KubernetesApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = createHttpRequester({ caPem: options.caPem, timeoutMs: options.timeoutMs });
    this.throttling = { ...MESH_THROTTLING, ...options.throttling };
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  }

  expectOk(answer: Answer, action: string): unknown {
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
  async request(method: string, path: string, payload?: { body: string; contentType: string }): Promise<Answer> {
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

export function objectPath(plural: string, ref: ObjectRef): string {
  return `${GROUP_PATH}/namespaces/${encodeURIComponent(ref.namespace)}/${plural}/${encodeURIComponent(ref.name)}`;
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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Status object's reason and message, shortened; empty for anything else. */
export function describeStatus(body: unknown): string {
  if (!isRecord(body) || body.kind !== 'Status') return '';
  const reason = typeof body.reason === 'string' ? `${body.reason}: ` : '';
  const message = typeof body.message === 'string' ? body.message : '';
  return `${reason}${message}`.slice(0, 500);
}

export function toObjectMeta(value: unknown, kind: string): ObjectMeta {
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
