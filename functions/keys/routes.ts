/**
 * Signing key rotation (docs/architecture.md#tokens), by schedule or on demand through the IAM-authorized
 * `POST /v1/keys/rotate`. Every rotation is audited with kids only, never key material.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import type { Log } from '../../shared/app/log.js';
import type { KeySetChange } from '../../shared/core/signing-keys.js';
import { json } from '../http/responses.js';

export const ROTATE_PATH = '/v1/keys/rotate';

/** What the keys Lambda needs from the key store. */
export interface KeyRotator {
  /** Makes a new key active and prunes keys past their retirement. */
  rotate(now: Date): Promise<KeySetChange>;
}

export type KeysEvent = ScheduledEvent | APIGatewayProxyEventV2WithIAMAuthorizer;

/** An EventBridge schedule's invocation (rule with `schedule: rate(...)` or `cron(...)`). */
export function isScheduledEvent(event: KeysEvent): event is ScheduledEvent {
  return 'source' in event && event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event';
}

/** Rotates and writes the audit line; `trigger` says who asked (the schedule or an IAM principal). */
export async function rotateAudited(store: KeyRotator, log: Log, trigger: string, now: Date): Promise<KeySetChange> {
  const change = await store.rotate(now);
  log.info('signing keys rotated', { audit: 'signing-keys', trigger, ...change });
  return change;
}


/** Answers POST /v1/keys/rotate with `{ outcome, activeKid, retiredKids, prunedKids }`. */
export async function routeKeysRequest(event: APIGatewayProxyEventV2WithIAMAuthorizer, store: KeyRotator, log: Log, now: Date): Promise<APIGatewayProxyStructuredResultV2> {
  const http = event.requestContext?.http;
  if (http?.path !== ROTATE_PATH) return json(404, { reason: 'NOT_FOUND', message: 'no such route' });
  if (http.method !== 'POST') return json(405, { reason: 'METHOD_NOT_ALLOWED', message: 'only POST is supported' });
  const caller = event.requestContext.authorizer?.iam?.userArn ?? 'unknown caller';
  return json(200, await rotateAudited(store, log, caller, now));
}
