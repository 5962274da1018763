/**
 * When the agent acts next: refresh at ~2/3 of a token's lifetime, back off after failures, and
 * honour the server's Retry-After. Pure functions of their inputs (`random` in [0, 1)) for tests.
 */

const REFRESH_FRACTION = 2 / 3;
const REFRESH_JITTER = 0.1;
/** No wait is shorter, whatever a server answers: the floor that keeps the agent from spinning. */
export const MIN_DELAY_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
// A hostile or buggy Retry-After must not park the agent while its token runs out.
const MAX_RETRY_AFTER_MS = 5 * 60_000;
/**
 * The longest single timer the agent sets. Node fires a setTimeout longer than 2^31−1 ms (24.8
 * days) after 1 ms, which turned a long refresh delay into a loop of exchanges; a day is far
 * below that, and waking daily to look at the clock again also absorbs a suspended host or a
 * clock that jumped.
 */
export const MAX_TIMER_MS = 86_400_000;

/**
 * Delay before refreshing a token valid from `nowMs` until `expiresAtMs`: 2/3 of the lifetime ±10%,
 * so a fleet of tasks started together spreads its refreshes, and a failure leaves a third to retry in.
 */
export function refreshDelayMs(nowMs: number, expiresAtMs: number, random: number): number {
  const lifetime = expiresAtMs - nowMs;
  const jitter = 1 + (random * 2 - 1) * REFRESH_JITTER;
  return Math.max(MIN_DELAY_MS, Math.round(lifetime * REFRESH_FRACTION * jitter));
}

/**
 * Delay before retry number `attempt` (0 for the first retry): "full jitter" between the 1 s floor
 * and a ceiling that doubles from 2 s up to 60 s, so agents that failed together (a fleet behind
 * one NAT address, whose failures the exchange counts together) spread out from the first retry,
 * and none retries sooner than the floor.
 */
export function backoffDelayMs(attempt: number, random: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, MIN_DELAY_MS * 2 ** (Math.min(Math.max(attempt, 0), 16) + 1));
  return Math.round(MIN_DELAY_MS + random * (ceiling - MIN_DELAY_MS));
}

/** The delay a `Retry-After` value asks for (delta-seconds or an HTTP date), bounded; undefined if unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  let delay: number;
  if (/^\d+$/.test(trimmed)) delay = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    delay = date - nowMs;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_DELAY_MS, delay));
}
