/**
 * Sends the exchange request and reads the answer (docs/architecture.md#exchange): 200 is a token; a 4xx is a
 * refusal `{ reason, message }`, permanent unless retrying can change it; 5xx is transient.
 */
import { decodeJwt } from 'jose';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { EXCHANGE_REASONS } from '../../shared/core/reasons.js';
import { MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS } from '../../shared/core/token-lifetime.js';
import { sendHttp } from './http.js';
import { parseRetryAfterMs } from './schedule.js';
import type { ExchangeRequestBody } from './sign-request.js';

/** What one exchange came to; failures are data so the loop can decide between retry and exit. */
export type ExchangeOutcome =
  /** `clampedFrom`: the expiry the exchange answered, when it lay beyond the longest lifetime we accept. */
  | { kind: 'issued'; token: string; expiresAt: Date; clampedFrom?: string; proxy?: ProxyDeclaration }
  | { kind: 'refused'; status: number; reason: string; message: string; permanent: boolean; retryAfterMs?: number }
  | { kind: 'unavailable'; code: string; message: string; retryAfterMs?: number };

/**
 * What istio-proxy must declare for istiod to health-check the task (docs/onboard-a-service.md#health-checks):
 * the entry it stands for, and the group's probe. Both absent from an exchange older than them.
 */
export interface ProxyDeclaration {
  workloadEntry?: { namespace: string; name: string };
  readinessProbe?: Record<string, unknown>;
}

export interface ExchangeTransport {
  ca?: string;
  servername?: string;
  signal?: AbortSignal;
  now: () => number;
}

// Refusals a fresh signature or a pause can overcome; every other 4xx will be answered the same way again.
const RETRYABLE_REASONS: ReadonlySet<string> = new Set([EXCHANGE_REASONS.REPLAY, EXCHANGE_REASONS.RATE_LIMITED, EXCHANGE_REASONS.STS_THROTTLED, EXCHANGE_REASONS.STS_UNAVAILABLE]);

/** True when a refusal will not change on retry: a 4xx other than 408/429 and not REPLAY/RATE_LIMITED. */
export function isPermanentRefusal(status: number, reason: string): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429 && !RETRYABLE_REASONS.has(reason);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// A JWT (or any opaque token) on one line: the proxy reads the file as is.
const TokenAnswerSchema = z.looseObject({
  token: z.string().check(z.regex(/^[A-Za-z0-9._~+/=-]+$/, 'must be a single-line token')),
  // zod's number() refuses ±Infinity (JSON's 1e400); what the value means in time is checked by checkExpiry.
  expiresAt: z.optional(z.union([z.iso.datetime({ offset: true }), z.number()])),
  // Kubernetes names (RFC 1123): the name goes into a file a shell sources, so nothing else passes.
  workloadEntry: z.optional(z.object({ namespace: z.string().check(z.regex(DNS_LABEL)), name: z.string().check(z.regex(DNS_SUBDOMAIN)) })),
  readinessProbe: z.optional(z.record(z.string(), z.unknown())),
});
const RefusalSchema = z.looseObject({ reason: z.string().check(z.regex(/^[A-Z][A-Z0-9_]{0,63}$/)), message: z.optional(z.string()) });

const TIMEOUT_MS = 15_000;
const MAX_MESSAGE_CHARS = 500;

/** POSTs the request to `url` and classifies the answer; network failures throw AgentTransientError. */
export async function postExchange(url: string, body: ExchangeRequestBody, transport: ExchangeTransport): Promise<ExchangeOutcome> {
  const answer = await sendHttp(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: TIMEOUT_MS,
    ...(transport.ca ? { ca: transport.ca } : {}),
    ...(transport.servername ? { servername: transport.servername } : {}),
    ...(transport.signal ? { signal: transport.signal } : {}),
  });
  const json = parseJson(answer.text);
  const retryAfter = parseRetryAfterMs(headerValue(answer.headers['retry-after']), transport.now());
  const retry = retryAfter === undefined ? {} : { retryAfterMs: retryAfter };
  if (answer.status === 200) return readToken(json, transport.now());
  const refusal = RefusalSchema.safeParse(json);
  const reason = refusal.success ? refusal.data.reason : `HTTP_${answer.status}`;
  const message = (refusal.success ? (refusal.data.message ?? '') : '').slice(0, MAX_MESSAGE_CHARS);
  if (answer.status >= 400 && answer.status < 500) return { kind: 'refused', status: answer.status, reason, message, permanent: isPermanentRefusal(answer.status, reason), ...retry };
  return { kind: 'unavailable', code: reason, message: message || `exchange answered ${answer.status}`, ...retry };
}

function readToken(json: unknown, nowMs: number): ExchangeOutcome {
  const parsed = TokenAnswerSchema.safeParse(json);
  if (!parsed.success) return malformed(`exchange answered 200 without a usable token: ${parsed.error.issues.map((i) => i.path.join('.') || '(body)').join(', ')}`);
  const { token, expiresAt, workloadEntry, readinessProbe } = parsed.data;
  const answered = expiresAt ?? jwtExp(token);
  if (answered === undefined) return malformed('exchange answered 200 without expiresAt and the token has no exp');
  // A JWT's exp is always epoch seconds; our own expiresAt may be seconds or milliseconds.
  const expiryMs = typeof answered === 'string' ? Date.parse(answered) : expiresAt === undefined ? answered * 1000 : epochMs(answered);
  const checked = checkExpiry(expiryMs, nowMs);
  if (typeof checked === 'string') return malformed(`exchange answered 200 with ${expiresAt === undefined ? 'a token whose exp is' : 'expiresAt'} ${answered}, ${checked}`);
  const proxy = { ...(workloadEntry ? { workloadEntry } : {}), ...(readinessProbe ? { readinessProbe } : {}) };
  return { kind: 'issued', token, ...checked, ...(workloadEntry || readinessProbe ? { proxy } : {}) };
}

function malformed(message: string): ExchangeOutcome {
  return { kind: 'unavailable', code: 'MALFORMED_ANSWER', message };
}

// Date's range: ±8.64e15 ms from the epoch; beyond it a Date is Invalid and toISOString throws.
const MAX_DATE_MS = 8.64e15;
const MAX_LIFETIME_MS = MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS * 1000;

/**
 * The expiry to schedule by, or why there is none. A token already expired is useless and would
 * be asked for again at once; one expiring later than any deployment may issue is clamped, so a
 * far or hostile answer can neither crash the agent (an Invalid Date) nor overflow its timer.
 */
function checkExpiry(expiryMs: number, nowMs: number): { expiresAt: Date; clampedFrom?: string } | string {
  if (!Number.isFinite(expiryMs) || Math.abs(expiryMs) > MAX_DATE_MS) return 'which is not a time';
  if (expiryMs <= nowMs) return `already past (${new Date(expiryMs).toISOString()})`;
  if (expiryMs - nowMs <= MAX_LIFETIME_MS) return { expiresAt: new Date(expiryMs) };
  return { expiresAt: new Date(nowMs + MAX_LIFETIME_MS), clampedFrom: new Date(expiryMs).toISOString() };
}

// Epoch seconds (the JWT convention); a value this large can only be milliseconds.
function epochMs(value: number): number {
  return value > 1e11 ? value : value * 1000;
}

function jwtExp(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
