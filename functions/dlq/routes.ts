/**
 * The task-events DLQ for operators (IAM-authorized):
 * - `GET /v1/dlq[?limit=N]` lists set-aside records (left on the queue);
 * - `POST /v1/dlq/replay` `{ limit? }` sends them back through task-events, as new events.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import type { Log } from '../../shared/app/log.js';
import { parseJsonStrict } from '../../shared/core/strict-json.js';
import type { DeadLetterQueue } from '../../shared/ports.js';
import { json, problem, requestBody } from '../http/responses.js';

export const DLQ_PATH = '/v1/dlq';
export const REPLAY_PATH = '/v1/dlq/replay';
const MAX_BODY_BYTES = 1024;

const limit = (max: number, fallback: number) => z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(max)), fallback);
const ListQuery = z.strictObject({ limit: limit(100, 20) });
const ReplayRequest = z.strictObject({ limit: limit(1000, 100) });

export interface DlqDeps {
  queue: DeadLetterQueue;
  log: Log;
}

/** Routes one operator request; every answer is JSON with a stable `reason` on refusal. */
export async function routeDlqRequest(event: APIGatewayProxyEventV2WithIAMAuthorizer, deps: DlqDeps, now: Date): Promise<APIGatewayProxyStructuredResultV2> {
  const caller = event.requestContext.authorizer?.iam?.userArn;
  if (!caller) return problem(403, 'UNAUTHENTICATED', 'no IAM caller on the request: the DLQ routes require AWS_IAM (SigV4) authorization');
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  if (path === DLQ_PATH) {
    if (method !== 'GET') return problem(405, 'METHOD_NOT_ALLOWED', 'only GET is supported');
    const query = ListQuery.safeParse(event.queryStringParameters ?? {});
    if (!query.success) return problem(400, 'INVALID_QUERY', `limit is an integer from 1 to 100: ${z.prettifyError(query.error)}`);
    return json(200, { records: await deps.queue.list(query.data.limit) });
  }
  if (path === REPLAY_PATH) {
    if (method !== 'POST') return problem(405, 'METHOD_NOT_ALLOWED', 'only POST is supported');
    const text = requestBody(event) || '{}';
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) return problem(413, 'BODY_TOO_LARGE', `the request is at most ${MAX_BODY_BYTES} bytes`);
    const body = parseJsonStrict(text);
    if (!body.ok) return problem(400, 'MALFORMED_BODY', `body must be one JSON object: ${body.detail}`);
    const request = ReplayRequest.safeParse(body.value);
    if (!request.success) return problem(422, 'INVALID_REQUEST', z.prettifyError(request.error));
    const records = await deps.queue.replay(request.data.limit, now);
    // Ids only: a record's body may be anything a sender put on the queue.
    deps.log.info('dead letters replayed', { caller, count: records.length, messageIds: records.map((r) => r.messageId) });
    return json(200, { replayed: records.length, records });
  }
  return problem(404, 'NOT_FOUND', `no route ${method} ${path}`);
}
