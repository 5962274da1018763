/**
 * Enrollment status (docs/architecture.md#policy-api): "why is my task not in the mesh?". Query parameters are
 * validated at the edge; answers are JSON with a stable `reason` on every error.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { PHASES } from '../../shared/core/enrollment.js';
import { REPAIR_KINDS } from '../../shared/core/reconcile.js';
import type { EnrollmentStore } from '../../shared/ports.js';
import { json, problem } from '../http/responses.js';


const ListQuery = z.strictObject({
  cluster: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  namespace: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
  phase: z.optional(z.enum(PHASES)),
  /** Records the reconciler repaired, of this kind. */
  repair: z.optional(z.enum(REPAIR_KINDS)),
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000))),
});
const TaskId = z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an ECS task id'));


/** Answers GET /v1/enrollments and GET /v1/enrollments/{taskId}. */
export async function routeEnrollmentRequest(event: APIGatewayProxyEventV2, store: EnrollmentStore): Promise<APIGatewayProxyStructuredResultV2> {
  if (event.requestContext?.http?.method !== 'GET') return problem(405, 'METHOD_NOT_ALLOWED', 'only GET is supported');
  const taskId = event.pathParameters?.taskId;
  if (taskId !== undefined) {
    const id = TaskId.safeParse(taskId);
    if (!id.success) return problem(400, 'INVALID_TASK_ID', 'taskId must be an ECS task id (the last part of the task ARN)');
    const record = await store.get(id.data);
    return record ? json(200, record) : problem(404, 'ENROLLMENT_NOT_FOUND', `no enrollment record for task ${id.data} (never seen, or its tombstone expired)`);
  }
  const query = ListQuery.safeParse(event.queryStringParameters ?? {});
  if (!query.success) return problem(400, 'INVALID_QUERY', query.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  const { cluster, namespace, phase, repair, limit } = query.data;
  const items = await store.list({ clusterName: cluster, namespace, phase, repairKind: repair, limit });
  return json(200, { items, count: items.length });
}
