/**
 * Signing keys (docs/architecture.md#tokens), by schedule or through the IAM-authorized operator routes:
 * - `POST /v1/keys/rotate` `{ profile?, emergency? }` adds a pending successor to each profile's
 *   key set (it signs KEY_PREPUBLISH_SECONDS later; at once with `emergency`);
 * - `POST /v1/keys/revoke` `{ kid, profile? }` withdraws a key that no longer signs from its set
 *   and the JWKS now, so tokens signed with it stop verifying once verifiers refetch;
 * - `GET /v1/keys[?profile=istio|kuma]` lists every published key with its state, so operators
 *   can roll the pending key into verifiers that do not read our JWKS (Kuma's CP config).
 * Every rotation is audited with kids only, never key material.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import type { KeySetChange } from '../../shared/core/signing-keys.js';
import { TOKEN_PROFILES, type TokenProfile } from '../../shared/core/tokens.js';
import { ControlPlaneError } from '../../shared/errors.js';
import type { KeyLister, KeyRotator, Log } from '../../shared/ports.js';
import { iamCaller, readJsonBody, readQuery, routeTable } from '../http/edge.js';
import { json, problem } from '../http/responses.js';

export const ROTATE_PATH = '/v1/keys/rotate';
export const KEYS_PATH = '/v1/keys';
export const REVOKE_PATH = '/v1/keys/revoke';

export interface KeysDeps {
  stores: Readonly<Record<TokenProfile, KeyRotator>>;
  published: Readonly<Record<TokenProfile, KeyLister>>;
  /** The deployment's profile (TOKEN_PROFILE): its key set is created by a rotation when missing. */
  defaultProfile: TokenProfile;
  log: Log;
}

export type KeysEvent = ScheduledEvent | APIGatewayProxyEventV2WithIAMAuthorizer;

/** One profile's change, as answered and audited. */
export type ProfileChange = KeySetChange & { profile: TokenProfile };

// Strict JSON (functions/http/edge.ts): with a repeated key ({"profile":"istio","profile":"kuma"}), readers could disagree on the target.
const MAX_BODY_BYTES = 1024;
const RotateBody = z.strictObject({ profile: z.optional(z.enum(TOKEN_PROFILES)), emergency: z.optional(z.boolean()) });
const ListQuery = z.strictObject({ profile: z.optional(z.enum(TOKEN_PROFILES)) });
const RevokeBody = z.strictObject({ kid: z.string().check(z.minLength(1), z.maxLength(128)), profile: z.optional(z.enum(TOKEN_PROFILES)) });

/** An EventBridge schedule's invocation (rule with `schedule: rate(...)` or `cron(...)`). */
export function isScheduledEvent(event: KeysEvent): event is ScheduledEvent {
  return 'source' in event && event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event';
}

/**
 * Rotates `profile`, or every profile that has a key set plus the deployment's own (created when
 * missing), and writes one audit line per profile. `trigger` says who asked.
 */
export async function rotateAudited(deps: KeysDeps, trigger: string, now: Date, request: { profile?: TokenProfile; emergency?: boolean } = {}): Promise<ProfileChange[]> {
  const emergency = request.emergency === true;
  const changes: ProfileChange[] = [];
  for (const profile of request.profile ? [request.profile] : TOKEN_PROFILES) {
    const store = deps.stores[profile];
    // A profile nobody uses gets no key set from a schedule: prune answers whether it has one.
    if (!request.profile && profile !== deps.defaultProfile && !(await store.prune(now))) continue;
    const change = { profile, ...(await store.rotate(now, { emergency })) };
    deps.log[emergency ? 'warn' : 'info']('signing keys rotated', { audit: 'signing-keys', trigger, emergency, ...change });
    changes.push(change);
  }
  return changes;
}

/**
 * Answers POST /v1/keys/rotate with `{ changes: [...] }`, POST /v1/keys/revoke with `{ change }`
 * and GET /v1/keys with `{ items, count }` (the caller is checked by the handler's middleware).
 */
export function routeKeysRequest(event: APIGatewayProxyEventV2WithIAMAuthorizer, deps: KeysDeps, now: Date): Promise<APIGatewayProxyStructuredResultV2> {
  const caller = iamCaller(event) ?? 'unknown';
  return routeTable<APIGatewayProxyEventV2WithIAMAuthorizer>([
    {
      method: 'GET',
      path: KEYS_PATH,
      async handle(request) {
        const query = readQuery(request, ListQuery);
        if (!query.ok) return query.answer;
        const items = [];
        for (const profile of query.value.profile ? [query.value.profile] : TOKEN_PROFILES)
          for (const status of await deps.published[profile].statuses(now)) items.push({ profile, ...status });
        return json(200, { items, count: items.length });
      },
    },
    {
      method: 'POST',
      path: REVOKE_PATH,
      async handle(request) {
        const body = readJsonBody(request, { maxBytes: MAX_BODY_BYTES, check: RevokeBody });
        return body.ok ? revokeAudited(deps, caller, now, body.value) : body.answer;
      },
    },
    {
      method: 'POST',
      path: ROTATE_PATH,
      async handle(request) {
        const body = readJsonBody(request, { maxBytes: MAX_BODY_BYTES, emptyIsObject: true, check: RotateBody });
        if (!body.ok) return body.answer;
        try {
          return json(200, { changes: await rotateAudited(deps, caller, now, body.value) });
        } catch (error) {
          if (error instanceof ControlPlaneError && error.code === 'SIGNING_KEYS_FULL') return problem(409, error.code, error.message);
          throw error;
        }
      },
    },
  ])(event);
}

/**
 * Revokes `kid` in `profile`, or in whichever profile holds it, and audits it. The answer names
 * what stops verifying: tokens signed with the key, which would have verified until its retirement.
 */
async function revokeAudited(deps: KeysDeps, caller: string, now: Date, request: { kid: string; profile?: TokenProfile }): Promise<APIGatewayProxyStructuredResultV2> {
  for (const profile of request.profile ? [request.profile] : TOKEN_PROFILES) {
    const result = await deps.stores[profile].revoke(request.kid, now);
    if (!result || ('refused' in result && result.refused === 'KEY_NOT_FOUND')) continue;
    if ('refused' in result) return problem(409, result.refused, result.message);
    const change = { profile, ...result };
    deps.log.warn('signing key revoked', { audit: 'signing-keys', trigger: caller, kid: request.kid, ...change });
    const [revoked] = result.revoked ?? [];
    const stops = revoked?.signed
      ? `tokens signed with ${request.kid} stop verifying once verifiers refetch the JWKS; they would have verified until ${revoked.tokensWouldVerifyUntil ?? 'they expired'}`
      : `${request.kid} never signed: no token stops verifying`;
    return json(200, { change, stopsVerifying: stops });
  }
  return problem(404, 'KEY_NOT_FOUND', `no published key ${request.kid}${request.profile ? ` in profile ${request.profile}` : ''} (never created, or already retired)`);
}
