/**
 * The task-events DLQ for operators (IAM-authorized):
 * - `GET /v1/dlq[?limit=N]` lists set-aside records (left on the queue);
 * - `POST /v1/dlq/replay` `{ limit? }` sends them back through task-events, as new events.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import type { DeadLetterQueue, Log } from '../../shared/ports.js';
import { iamCaller, readJsonBody, readQuery, routeTable } from '../http/edge.js';
import { json } from '../http/responses.js';

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

/** Routes one operator request (the caller is checked by the handler's middleware). */
export function routeDlqRequest(event: APIGatewayProxyEventV2WithIAMAuthorizer, deps: DlqDeps, now: Date): Promise<APIGatewayProxyStructuredResultV2> {
  return routeTable<APIGatewayProxyEventV2WithIAMAuthorizer>([
    {
      method: 'GET',
      path: DLQ_PATH,
      async handle(request) {
        const query = readQuery(request, ListQuery);
        if (!query.ok) return query.answer;
        return json(200, { records: await deps.queue.list(query.value.limit) });
      },
    },
    {
      method: 'POST',
      path: REPLAY_PATH,
      async handle(request) {
        const body = readJsonBody(request, { maxBytes: MAX_BODY_BYTES, emptyIsObject: true, check: ReplayRequest });
        if (!body.ok) return body.answer;
        const records = await deps.queue.replay(body.value.limit, now);
        // Ids only: a record's body may be anything a sender put on the queue.
        deps.log.info('dead letters replayed', { caller: iamCaller(request), count: records.length, messageIds: records.map((r) => r.messageId) });
        return json(200, { replayed: records.length, records });
      },
    },
  ])(event);
}
