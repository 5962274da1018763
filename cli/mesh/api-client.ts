/**
 * Typed calls to the operator HTTP API (SigV4, service execute-api). Every answer is validated
 * against its schema; a non-2xx answer becomes an ApiError carrying the body's `reason`.
 */
import type * as z from 'zod/mini';
import { signedFetch, type AwsCredentialsLike, type CredentialSource } from '../api/signed-fetch.js';
import { AnswerError, ApiError, CredentialsError, UnreachableError } from './errors.js';
import {
  DeleteAnswerSchema,
  describeIssues,
  EnrollmentListSchema,
  EnrollmentRecordSchema,
  ErrorBodySchema,
  ExplainAnswerSchema,
  HistoryListSchema,
  KeyListSchema,
  PolicyItemSchema,
  PolicyListSchema,
  PutAnswerSchema,
  ReconcileReportSchema,
  DeadLetterListSchema,
  RevokeAnswerSchema,
  RotateAnswerSchema,
  type DeleteAnswer,
  type EnrollmentRecord,
  type ExplainAnswer,
  type HistoryItem,
  type KeyChange,
  type RevokeAnswer,
  type KeyItem,
  type PolicyItem,
  type PutAnswer,
  type ReconcileReport,
  type DeadLetter,
} from './schemas.js';

export interface ApiClientOptions {
  /** The API's base URL, stage path included (`https://id.execute-api.eu-west-1.amazonaws.com/prod`). */
  baseUrl: URL;
  region: string;
  credentials: CredentialSource;
}

/** Guards a PUT: replace exactly the revision read, or create only if absent. */
export type Precondition = { ifMatch: string } | { ifNoneMatch: '*' };

export interface ExplainIdentity {
  partition?: string;
  account: string;
  region: string;
  zone?: string;
  cluster: string;
  launchType?: string;
  roleArn?: string;
  roleName?: string;
  roleTags?: Record<string, string>;
}

/** Exactly one of `taskArn` and `identity` (the API refuses both or neither). */
export interface ExplainRequest {
  taskArn?: string;
  cluster?: string;
  identity?: ExplainIdentity;
  group?: { namespace: string; name: string };
  groupLabels?: Record<string, string>;
}

export interface EnrollmentQuery {
  cluster?: string;
  namespace?: string;
  phase?: string;
  repair?: string;
  limit?: number;
  /** Where the previous page stopped (its answer's nextToken). */
  nextToken?: string;
}

/** One page of records; `nextToken` is absent on the last page. */
export interface EnrollmentPage {
  items: EnrollmentRecord[];
  nextToken?: string;
}

export interface ReconcileRequest {
  clusters?: string[];
  namespace?: string;
  dryRun: boolean;
}

export interface ApiClient {
  listPolicies(namespace: string): Promise<PolicyItem[]>;
  /** The policy and its ETag (the quoted revision), for a conditional PUT. */
  getPolicy(namespace: string, name: string): Promise<{ item: PolicyItem; etag: string }>;
  putPolicy(namespace: string, name: string, document: unknown, precondition: Precondition): Promise<PutAnswer>;
  deletePolicy(namespace: string, name: string, ifMatchRevision?: number): Promise<DeleteAnswer>;
  policyHistory(namespace: string, name: string, limit?: number): Promise<HistoryItem[]>;
  explain(request: ExplainRequest): Promise<ExplainAnswer>;
  listEnrollments(query: EnrollmentQuery): Promise<EnrollmentPage>;
  getEnrollment(taskId: string): Promise<EnrollmentRecord>;
  reconcile(request: ReconcileRequest): Promise<ReconcileReport>;
  /** Every published signing key, of one claim profile or all. */
  listKeys(profile?: string): Promise<KeyItem[]>;
  rotateKeys(request: { profile?: string; emergency?: boolean }): Promise<KeyChange[]>;
  /** Withdraws a key that no longer signs from its set and the JWKS. */
  revokeKey(request: { kid: string; profile?: string }): Promise<RevokeAnswer>;
  /** Records set aside on the task-events DLQ, left there. */
  listDeadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Sends DLQ records back through task-events; answers the ones replayed. */
  replayDeadLetters(limit?: number): Promise<DeadLetter[]>;
}

interface Call {
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Builds the client; nothing is sent (and no credential is loaded) until a method is called. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const credentials = guardCredentials(options.credentials);
  const send = async <S extends z.ZodMiniType>(call: Call, schema: S): Promise<{ value: z.infer<S>; headers: Headers }> => {
    const url = requestUrl(options.baseUrl, call);
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await signedFetch(url, { method: call.method, headers, ...(body !== undefined ? { body } : {}) }, { region: options.region, credentials });
    } catch (error) {
      if (error instanceof CredentialsError) throw error;
      throw new UnreachableError(url.href, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) throw apiError(response.status, text);
    const parsed = schema.safeParse(parseJson(text, `${call.method} ${url.pathname}`));
    if (!parsed.success) throw new AnswerError(`unexpected answer to ${call.method} ${url.pathname} (${response.status}): ${describeIssues(parsed.error.issues)}`);
    return { value: parsed.data, headers: response.headers };
  };
  const policyPath = (namespace: string, name?: string) => `/v1/namespaces/${encodeURIComponent(namespace)}/policies${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

  return {
    listPolicies: async (namespace) => (await send({ method: 'GET', path: policyPath(namespace) }, PolicyListSchema)).value.items,
    async getPolicy(namespace, name) {
      const { value, headers } = await send({ method: 'GET', path: policyPath(namespace, name) }, PolicyItemSchema);
      // The contract's ETag is the quoted revision; rebuild it if a proxy dropped the header.
      return { item: value, etag: headers.get('etag') ?? `"${value.revision}"` };
    },
    async putPolicy(namespace, name, document, precondition) {
      const headers: Record<string, string> = 'ifMatch' in precondition ? { 'if-match': precondition.ifMatch } : { 'if-none-match': '*' };
      return (await send({ method: 'PUT', path: policyPath(namespace, name), headers, body: document }, PutAnswerSchema)).value;
    },
    async deletePolicy(namespace, name, ifMatchRevision) {
      const headers: Record<string, string> = ifMatchRevision === undefined ? {} : { 'if-match': `"${ifMatchRevision}"` };
      return (await send({ method: 'DELETE', path: policyPath(namespace, name), headers }, DeleteAnswerSchema)).value;
    },
    policyHistory: async (namespace, name, limit) => (await send({ method: 'GET', path: `${policyPath(namespace, name)}/history`, query: { limit } }, HistoryListSchema)).value.items,
    explain: async (request) => (await send({ method: 'POST', path: '/v1/explain', body: request }, ExplainAnswerSchema)).value,
    async listEnrollments(query) {
      const { items, nextToken } = (await send({ method: 'GET', path: '/v1/enrollments', query: { ...query } }, EnrollmentListSchema)).value;
      return { items, ...(nextToken !== undefined ? { nextToken } : {}) };
    },
    getEnrollment: async (taskId) => (await send({ method: 'GET', path: `/v1/enrollments/${encodeURIComponent(taskId)}` }, EnrollmentRecordSchema)).value,
    reconcile: async (request) => (await send({ method: 'POST', path: '/v1/reconcile', body: request }, ReconcileReportSchema)).value,
    listKeys: async (profile) => (await send({ method: 'GET', path: '/v1/keys', query: { profile } }, KeyListSchema)).value.items,
    rotateKeys: async (request) => (await send({ method: 'POST', path: '/v1/keys/rotate', body: request }, RotateAnswerSchema)).value.changes,
    revokeKey: async (request) => (await send({ method: 'POST', path: '/v1/keys/revoke', body: request }, RevokeAnswerSchema)).value,
    listDeadLetters: async (limit) => (await send({ method: 'GET', path: '/v1/dlq', query: { limit } }, DeadLetterListSchema)).value.records,
    replayDeadLetters: async (limit) => (await send({ method: 'POST', path: '/v1/dlq/replay', body: limit === undefined ? {} : { limit } }, DeadLetterListSchema)).value.records,
  };
}

function requestUrl(baseUrl: URL, call: Call): URL {
  const url = new URL(baseUrl.origin);
  url.pathname = `${baseUrl.pathname.replace(/\/+$/, '')}${call.path}`;
  for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
  return url;
}

/** Marks a failure of the credential chain so it is not mistaken for an unreachable API. */
function guardCredentials(source: CredentialSource): () => Promise<AwsCredentialsLike> {
  return async () => {
    try {
      return typeof source === 'function' ? await source() : source;
    } catch (error) {
      throw new CredentialsError({ cause: error });
    }
  };
}

function apiError(status: number, text: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new ApiError(status, undefined, text.trim().slice(0, 200) || '(empty body)');
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success) return new ApiError(status, undefined, text.trim().slice(0, 200));
  const { reason, message, problems, currentRevision } = parsed.data;
  return new ApiError(status, reason, message ?? '(no message)', problems ?? [], currentRevision);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AnswerError(`unexpected answer to ${what}: not JSON`);
  }
}
