/**
 * The id an operator searches the logs by, per trigger: API Gateway's request id (also in the
 * access log), EventBridge's event id (schedules, CloudTrail events), the DynamoDB stream's
 * event ids. An SQS batch gets its message ids; task-events then logs each record's own
 * (shared/app/log.ts, withCorrelationId).
 */

type Loose = Record<string, unknown> | undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** The correlation id of a Lambda trigger event, or undefined when it carries none. */
export function correlationIdOf(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const e = event as Record<string, unknown>;
  const requestId = str((e.requestContext as Loose)?.requestId);
  if (requestId) return requestId;
  if (Array.isArray(e.Records)) {
    const ids = (e.Records as Loose[]).map((r) => str(r?.messageId) ?? str(r?.eventID)).filter((id): id is string => id !== undefined);
    return ids.length > 0 ? ids.join(',') : undefined;
  }
  if (str(e['detail-type'])) return str(e.id);
  return undefined;
}
