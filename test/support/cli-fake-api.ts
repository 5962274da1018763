/**
 * A loopback stand-in for the operator HTTP API, played per the contract the CLI is built
 * against: it checks each request's SigV4 signature the way API Gateway's IAM authorizer would
 * (403 {"message":"Forbidden"} when it does not verify), keeps policies with revisions, ETags and
 * history, and records every request it receives so tests can assert what went over the wire.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { OnboardingPolicySchema } from '../../shared/core/schemas.js';
import type { EnrollmentRecord } from '../../shared/core/enrollment.js';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDCLITEST0000001', secretAccessKey: 'cli-test-secret-key' } as const;
export const ACTOR = 'arn:aws:sts::123456789012:assumed-role/platform-admin/alice';
/** The API's stage path: the CLI must keep it in front of every route. */
export const STAGE = '/prod';

export interface RecordedRequest {
  method: string;
  /** The path after the stage (`/v1/...`). */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
}

interface StoredPolicy {
  revision: number;
  updatedAt: string;
  updatedBy: string;
  deleted: boolean;
  policy: Record<string, unknown>;
}

interface HistoryEntry {
  revision: number;
  action: 'create' | 'update' | 'delete';
  actor: string;
  at: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeApi {
  /** Base URL, stage included. */
  url: string;
  requests: RecordedRequest[];
  enrollments: EnrollmentRecord[];
  /** What POST /v1/explain answers, given the request body. */
  explain: (body: unknown) => Answer;
  /** Runs before a request is handled (after its signature is checked): simulate other writers, or answer instead. */
  intercept: (request: RecordedRequest) => Answer | undefined;
  /** Stores `document` as if applied earlier (revision 1 or the next one). */
  seedPolicy(document: Record<string, unknown>): void;
  storedPolicy(namespace: string, name: string): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 (any port); it accepts signatures for `region` only. */
export async function startFakeApi(region = 'eu-west-1', host = '127.0.0.1'): Promise<FakeApi> {
  const policies = new Map<string, StoredPolicy>();
  const history = new Map<string, HistoryEntry[]>();
  let clock = Date.parse('2026-03-01T12:00:00Z');
  const tick = () => new Date((clock += 60_000)).toISOString();

  const write = (key: string, action: HistoryEntry['action'], before: StoredPolicy | undefined, after: Record<string, unknown> | null): StoredPolicy => {
    const stored: StoredPolicy = { revision: (before?.revision ?? 0) + 1, updatedAt: tick(), updatedBy: ACTOR, deleted: after === null, policy: after ?? before?.policy ?? {} };
    policies.set(key, stored);
    history.set(key, [{ revision: stored.revision, action, actor: ACTOR, at: stored.updatedAt, before: before && !before.deleted ? before.policy : null, after }, ...(history.get(key) ?? [])]);
    return stored;
  };

  const api: FakeApi = {
    url: '',
    requests: [],
    enrollments: [],
    explain: () => ({ status: 500, body: { reason: 'INTERNAL', message: 'no explain answer scripted' } }),
    intercept: () => undefined,
    seedPolicy(document) {
      const { namespace, name } = document.metadata as { namespace: string; name: string };
      const key = `${namespace}/${name}`;
      const before = policies.get(key);
      write(key, before && !before.deleted ? 'update' : 'create', before, structuredClone(document));
    },
    storedPolicy: (namespace, name) => {
      const stored = policies.get(`${namespace}/${name}`);
      return stored && !stored.deleted ? stored.policy : undefined;
    },
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };

  const route = (request: RecordedRequest): Answer => {
    const intercepted = api.intercept(request);
    if (intercepted) return intercepted;
    const policyMatch = /^\/v1\/namespaces\/([^/]+)\/policies(?:\/([^/]+)(\/history)?)?$/.exec(request.path);
    if (policyMatch) {
      const [, namespace = '', name, historyRoute] = policyMatch.map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
      if (name === undefined) return request.method === 'GET' ? listPolicies(namespace) : problem(405, 'METHOD_NOT_ALLOWED', 'only GET');
      if (historyRoute) return policyHistory(`${namespace}/${name}`, request.query.limit);
      if (request.method === 'GET') return getPolicy(namespace, name);
      if (request.method === 'PUT') return putPolicy(namespace, name, request);
      if (request.method === 'DELETE') return deletePolicy(namespace, name, request);
      return problem(405, 'METHOD_NOT_ALLOWED', `${request.method} not allowed`);
    }
    if (request.method === 'POST' && request.path === '/v1/explain') return api.explain(JSON.parse(request.body));
    if (request.method === 'GET' && request.path === '/v1/enrollments') return listEnrollments(request.query);
    const enrollment = /^\/v1\/enrollments\/([^/]+)$/.exec(request.path);
    if (request.method === 'GET' && enrollment) {
      const record = api.enrollments.find((r) => r.taskId === enrollment[1]);
      return record ? { status: 200, body: record } : problem(404, 'ENROLLMENT_NOT_FOUND', `no enrollment record for task ${enrollment[1]}`);
    }
    // API Gateway's own answer for a route it does not have.
    return { status: 404, body: { message: 'Not Found' } };
  };

  const item = (namespace: string, name: string, stored: StoredPolicy) => ({ namespace, name, revision: stored.revision, updatedAt: stored.updatedAt, updatedBy: stored.updatedBy, valid: true, policy: stored.policy });
  const live = (key: string) => {
    const stored = policies.get(key);
    return stored && !stored.deleted ? stored : undefined;
  };

  const listPolicies = (namespace: string): Answer => {
    const items = [...policies.entries()].filter(([key, p]) => key.startsWith(`${namespace}/`) && !p.deleted).map(([key, p]) => item(namespace, key.slice(namespace.length + 1), p));
    return { status: 200, body: { items, count: items.length } };
  };

  const getPolicy = (namespace: string, name: string): Answer => {
    const stored = live(`${namespace}/${name}`);
    if (!stored) return problem(404, 'POLICY_NOT_FOUND', `no policy ${namespace}/${name}`);
    return { status: 200, body: item(namespace, name, stored), headers: { etag: `"${stored.revision}"` } };
  };

  const putPolicy = (namespace: string, name: string, request: RecordedRequest): Answer => {
    if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) return problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json or application/yaml');
    let document: unknown;
    try {
      document = JSON.parse(request.body);
    } catch {
      return problem(400, 'MALFORMED_BODY', 'the body is not JSON');
    }
    const parsed = OnboardingPolicySchema.safeParse(document);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ pointer: i.path.length ? `/${i.path.join('/')}` : '', message: i.message }));
      return { status: 422, body: { reason: 'INVALID_POLICY', message: `the policy is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`, problems } };
    }
    if (parsed.data.metadata.namespace !== namespace || parsed.data.metadata.name !== name) return { status: 422, body: { reason: 'INVALID_POLICY', message: 'metadata does not match the path', problems: [{ pointer: '/metadata', message: 'must match the URL' }] } };
    const key = `${namespace}/${name}`;
    const current = live(key);
    const conflict = precondition(request.headers, current);
    if (conflict) return conflict;
    if (current && JSON.stringify(current.policy) === JSON.stringify(document)) return { status: 200, body: { ...item(namespace, name, current), change: 'unchanged' }, headers: { etag: `"${current.revision}"` } };
    const stored = write(key, current ? 'update' : 'create', policies.get(key), document as Record<string, unknown>);
    return { status: current ? 200 : 201, body: { ...item(namespace, name, stored), change: current ? 'updated' : 'created' }, headers: { etag: `"${stored.revision}"` } };
  };

  const deletePolicy = (namespace: string, name: string, request: RecordedRequest): Answer => {
    const key = `${namespace}/${name}`;
    const current = live(key);
    if (!current) return problem(404, 'POLICY_NOT_FOUND', `no policy ${key}`);
    const conflict = precondition(request.headers, current);
    if (conflict) return conflict;
    const stored = write(key, 'delete', current, null);
    return { status: 200, body: { namespace, name, revision: stored.revision, deleted: true } };
  };

  const policyHistory = (key: string, limit: string | undefined): Answer => {
    const entries = history.get(key);
    if (!entries) return problem(404, 'POLICY_NOT_FOUND', `policy ${key} never existed`);
    const items = entries.slice(0, limit === undefined ? undefined : Number(limit));
    return { status: 200, body: { items, count: items.length } };
  };

  /** Pages as the API does; the fake's nextToken is the offset of the next page. */
  const listEnrollments = (query: Record<string, string>): Answer => {
    const matching = api.enrollments.filter((r) => (query.cluster === undefined || r.clusterName === query.cluster) && (query.namespace === undefined || r.namespace === query.namespace) && (query.phase === undefined || r.phase === query.phase));
    const from = query.nextToken === undefined ? 0 : Number(query.nextToken);
    if (!Number.isInteger(from) || from < 0) return problem(400, 'INVALID_NEXT_TOKEN', 'nextToken is not one this API issued');
    const to = from + (query.limit === undefined ? 100 : Number(query.limit));
    const items = matching.slice(from, to);
    return { status: 200, body: { items, count: items.length, ...(to < matching.length ? { nextToken: String(to) } : {}) } };
  };

  const server = createServer((req, res) => void handle(req, res));
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname.startsWith(STAGE) ? url.pathname.slice(STAGE.length) : url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    api.requests.push(request);
    const answer = (await signatureVerifies(req, url, request.body, region)) ? route(request) : { status: 403, body: { message: 'Forbidden' } };
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  };
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  api.url = `http://${host}:${(server.address() as AddressInfo).port}${STAGE}`;
  return api;
}

function problem(status: number, reason: string, message: string): Answer {
  return { status, body: { reason, message } };
}

/** If-Match must name the current revision; If-None-Match: * requires that there is none. */
function precondition(headers: IncomingHttpHeaders, current: StoredPolicy | undefined): Answer | undefined {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  const refuse = () => ({ status: 412, body: { reason: 'PRECONDITION_FAILED', message: 'the policy changed since it was read', ...(current ? { currentRevision: current.revision } : {}) } });
  if (ifMatch !== undefined && (!current || ifMatch !== `"${current.revision}"`)) return refuse();
  if (ifNoneMatch === '*' && current) return refuse();
  return undefined;
}

/**
 * Recomputes the signature over what actually arrived (the signed headers, path, query and body)
 * with the test key and this API's region, as API Gateway does, and compares.
 */
async function signatureVerifies(req: IncomingMessage, url: URL, body: string, region: string): Promise<boolean> {
  const authorization = req.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/execute-api\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(authorization);
  const amzDate = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(String(req.headers['x-amz-date'] ?? ''));
  if (!match || !amzDate || match[1] !== TEST_CREDENTIALS.accessKeyId || match[2] !== region) return false;
  const headers: Record<string, string> = {};
  for (const name of (match[3] ?? '').split(';')) headers[name] = String(req.headers[name] ?? '');
  const [, y, mo, d, h, mi, s] = amzDate.map(Number);
  const signingDate = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s));
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: TEST_CREDENTIALS, sha256: Sha256 });
  const signed = await signer.sign(
    new HttpRequest({ method: req.method ?? 'GET', protocol: 'http:', hostname: url.hostname, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, ...(body ? { body } : {}) }),
    { signingDate },
  );
  return signed.headers.authorization === authorization;
}
