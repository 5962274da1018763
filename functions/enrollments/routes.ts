/**
 * Enrollment status (docs/architecture.md#policy-api): "why is my task not in the mesh?". Query parameters are
 * validated at the edge; answers are JSON with a stable `reason` on every error.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { PHASES } from '../../shared/core/enrollment.js';
import { REPAIR_KINDS } from '../../shared/core/reconcile.js';
import { cursorFits, planEnrollmentQuery, type EnrollmentCursor, type EnrollmentListFilter } from '../../shared/core/enrollment-index.js';
import { ControlPlaneError } from '../../shared/errors.js';
import type { EnrollmentStore } from '../../shared/ports.js';
import { readQuery, routeTable } from '../http/edge.js';
import { json, problem } from '../http/responses.js';


const ListQuery = z.strictObject({
  cluster: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  namespace: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
  phase: z.optional(z.enum(PHASES)),
  /** Records the reconciler repaired, of this kind. */
  repair: z.optional(z.enum(REPAIR_KINDS)),
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000))),
  /** Where the previous page stopped, as that page's answer gave it. */
  nextToken: z.optional(z.string().check(z.maxLength(2048))),
});
/** A page of 100 unless asked otherwise: the cost of a page is its size (docs/architecture.md#enrollment-indexes). */
const DEFAULT_LIMIT = 100;
const TaskId = z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an ECS task id'));


/** Answers GET /v1/enrollments and GET /v1/enrollments/{taskId} (the caller is checked by the handler's middleware). */
export function routeEnrollmentRequest(event: APIGatewayProxyEventV2, store: EnrollmentStore): Promise<APIGatewayProxyStructuredResultV2> {
  return routeTable<APIGatewayProxyEventV2>([
    { method: 'GET', path: '/v1/enrollments/{taskId}', handle: (_, params) => getRecord(params.taskId ?? '', store) },
    { method: 'GET', path: '/v1/enrollments', handle: (request) => listRecords(request, store) },
  ])(event);
}

async function getRecord(taskId: string, store: EnrollmentStore): Promise<APIGatewayProxyStructuredResultV2> {
  const id = TaskId.safeParse(taskId);
  if (!id.success) return problem(400, 'INVALID_TASK_ID', 'taskId must be an ECS task id (the last part of the task ARN)');
  const record = await store.get(id.data);
  return record ? json(200, record) : problem(404, 'ENROLLMENT_NOT_FOUND', `no enrollment record for task ${id.data} (never seen, or its tombstone expired)`);
}

async function listRecords(event: APIGatewayProxyEventV2, store: EnrollmentStore): Promise<APIGatewayProxyStructuredResultV2> {
  const query = readQuery(event, ListQuery);
  if (!query.ok) return query.answer;
  const { cluster, namespace, phase, repair, limit, nextToken } = query.value;
  const filter: EnrollmentListFilter = { clusterName: cluster, namespace, phase, repairKind: repair };
  let cursor: EnrollmentCursor | undefined;
  if (nextToken !== undefined) {
    const decoded = decodeNextToken(nextToken);
    if ('problem' in decoded) return problem(400, 'INVALID_NEXT_TOKEN', decoded.problem);
    if (!cursorFits(planEnrollmentQuery(filter), decoded.cursor)) return problem(400, 'INVALID_NEXT_TOKEN', 'nextToken belongs to a listing with other filters: pass the filters of the page that gave it');
    cursor = decoded.cursor;
  }
  const page = await store.listPage(filter, limit ?? DEFAULT_LIMIT, cursor).catch((error: unknown) => {
    if (error instanceof ControlPlaneError && error.code === 'ENROLLMENT_INDEX_NOT_READY') return error;
    throw error;
  });
  if (page instanceof ControlPlaneError) return problem(503, page.code, page.message);
  return json(200, { items: page.items, count: page.items.length, ...(page.next ? { nextToken: encodeNextToken(page.next) } : {}) });
}

/** The token is the cursor as base64url JSON: opaque to callers, checked like any other input. */
const CursorToken = z.strictObject({ v: z.literal(1), p: z.string().check(z.minLength(1), z.maxLength(255)), a: z.optional(TaskId) });

function encodeNextToken(cursor: EnrollmentCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, p: cursor.partition, ...(cursor.after !== undefined ? { a: cursor.after } : {}) })).toString('base64url');
}

function decodeNextToken(token: string): { cursor: EnrollmentCursor } | { problem: string } {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return { problem: 'nextToken is not base64url: pass it as the previous page gave it' };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return { problem: 'nextToken does not decode: pass it as the previous page gave it' };
  }
  const parsed = CursorToken.safeParse(value);
  if (!parsed.success) return { problem: `nextToken is not one this API issued (${parsed.error.issues.map((i) => `${i.path.join('.') || 'token'}: ${i.message}`).join('; ')})` };
  return { cursor: { partition: parsed.data.p, ...(parsed.data.a !== undefined ? { after: parsed.data.a } : {}) } };
}
