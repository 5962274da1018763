/**
 * The policy routes of the HTTP API (docs/architecture.md#policy-api), behind AWS_IAM authorization: list, get, put,
 * delete and history of a namespace's OnboardingPolicies. Reads return the revision as ETag;
 * writes take it back in If-Match. Every change is audited with the caller's ARN.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { namespaceName, objectName } from '../../shared/core/schemas.js';
import { validatePolicyDocument } from '../../shared/core/policy-validation.js';
import { deletePolicy, putPolicy } from '../../shared/app/manage-policies.js';
import type { Log, PolicyAdminStore, PolicyRecord } from '../../shared/ports.js';
import { iamCaller } from '../http/edge.js';
import { json, problem } from '../http/responses.js';
import { readDocumentBody } from './document-body.js';
import { etagOf, readPreconditions } from './preconditions.js';

export interface PolicyRouteDeps {
  store: PolicyAdminStore;
  log: Log;
  now: () => Date;
}

const HistoryQuery = z.strictObject({ limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(100))) });

/** A policy as every read answers it. */
export function policyItem(record: PolicyRecord) {
  return {
    namespace: record.namespace,
    name: record.name,
    revision: record.revision,
    updatedAt: record.updatedAt,
    updatedBy: record.updatedBy,
    valid: record.stored.valid,
    ...(record.stored.valid ? {} : { problem: record.stored.problem }),
    policy: record.document,
  };
}

export async function routePolicyRequest(event: APIGatewayProxyEventV2WithIAMAuthorizer, deps: PolicyRouteDeps): Promise<APIGatewayProxyStructuredResultV2> {
  // The handler's middleware (functions/http/edge.ts) has refused a request without an IAM caller.
  const actor = iamCaller(event) ?? 'unknown';
  const method = event.requestContext.http.method;
  const params = event.pathParameters ?? {};
  const namespace = namespaceName.safeParse(params.namespace ?? '');
  if (!namespace.success) return problem(400, 'INVALID_NAMESPACE', `namespace ${JSON.stringify(params.namespace ?? '')} must be a DNS-1123 label`);
  const ns = namespace.data;
  if (params.name === undefined) {
    if (method !== 'GET') return problem(405, 'METHOD_NOT_ALLOWED', 'only GET lists policies');
    const items = (await deps.store.list(ns)).map(policyItem);
    return json(200, { items, count: items.length });
  }
  const name = objectName.safeParse(params.name);
  if (!name.success) return problem(400, 'INVALID_NAME', `policy name ${JSON.stringify(params.name)} must be a DNS-1123 subdomain`);
  const ref = { namespace: ns, name: name.data };
  const isHistory = event.routeKey.endsWith('/history');

  if (isHistory) {
    if (method !== 'GET') return problem(405, 'METHOD_NOT_ALLOWED', 'only GET reads history');
    const query = HistoryQuery.safeParse(event.queryStringParameters ?? {});
    if (!query.success) return problem(400, 'INVALID_QUERY', query.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
    const items = await deps.store.history(ref.namespace, ref.name, query.data.limit ?? 20);
    if (items.length === 0) return problem(404, 'POLICY_NOT_FOUND', `policy ${ns}/${ref.name} has no history: it never existed`);
    return json(200, { items, count: items.length });
  }

  if (method === 'GET') {
    const record = await deps.store.get(ref.namespace, ref.name);
    if (!record) return notFound(ref);
    return json(200, policyItem(record), { etag: etagOf(record.revision) });
  }

  const preconditions = readPreconditions(event.headers, method === 'PUT');
  if (!preconditions.ok) return problem(400, 'INVALID_PRECONDITION', preconditions.message);

  if (method === 'PUT') {
    const body = readDocumentBody(event);
    if (!body.ok) return problem(body.status, body.reason, body.message);
    const validation = validatePolicyDocument(body.document, ref);
    if (!validation.ok)
      return problem(422, 'INVALID_POLICY', `the document has ${validation.problems.length} problem(s); nothing was stored`, { problems: validation.problems });
    const result = await putPolicy(deps.store, { ...ref, policy: validation.policy, preconditions: preconditions.value, actor, now: deps.now() });
    if (result.outcome === 'precondition-failed') return preconditionFailed(result);
    if (result.outcome === 'conflict') return problem(409, 'CONFLICT', result.detail);
    if (result.change !== 'unchanged') audit(deps.log, result.change === 'created' ? 'create' : 'update', ref, actor, result.record.revision);
    return json(result.change === 'created' ? 201 : 200, { ...policyItem(result.record), change: result.change }, { etag: etagOf(result.record.revision) });
  }

  if (method === 'DELETE') {
    const result = await deletePolicy(deps.store, { ...ref, preconditions: preconditions.value, actor, now: deps.now() });
    if (result.outcome === 'not-found') return notFound(ref);
    if (result.outcome === 'precondition-failed') return preconditionFailed(result);
    if (result.outcome === 'conflict') return problem(409, 'CONFLICT', result.detail);
    audit(deps.log, 'delete', ref, actor, result.revision);
    return json(200, { ...ref, revision: result.revision, deleted: true });
  }
  return problem(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on a policy`);
}

const notFound = (ref: { namespace: string; name: string }) => problem(404, 'POLICY_NOT_FOUND', `no OnboardingPolicy ${ref.name} in namespace ${ref.namespace}`);

function preconditionFailed(result: { currentRevision: number | undefined; detail: string }) {
  return problem(412, 'PRECONDITION_FAILED', result.detail, result.currentRevision === undefined ? {} : { currentRevision: result.currentRevision }, result.currentRevision === undefined ? {} : { etag: etagOf(result.currentRevision) });
}

/** The audit line (the durable trail is the audit table; this one reaches CloudWatch). */
function audit(log: Log, action: string, ref: { namespace: string; name: string }, actor: string, revision: number): void {
  log.info('onboarding policy changed', { audit: 'onboarding-policy', action, namespace: ref.namespace, policy: ref.name, revision, actor });
}
