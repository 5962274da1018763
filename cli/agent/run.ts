/**
 * The agent's loop: exchange, write the token, sleep until ~2/3 of its lifetime, repeat. Transient
 * failures back off (1 s … 60 s); a permanent refusal ends the agent so ECS shows the task unhealthy.
 */
import { MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS } from '../../shared/core/token-lifetime.js';
import type { ExchangeOutcome, ProxyDeclaration } from './exchange.js';
import type { AgentLog } from './log.js';
import { backoffDelayMs, MAX_TIMER_MS, MIN_DELAY_MS, refreshDelayMs } from './schedule.js';

/** Exit codes of `ecs-mesh-agent`. */
export const EXIT_CODES = { OK: 0, REFUSED: 1, CONFIG_INVALID: 2 } as const;

/** Time as the loop sees it, injectable so tests run the schedule without waiting. */
export interface AgentTiming {
  now(): number;
  /** In [0, 1). */
  random(): number;
  /** Resolves after `ms` (at most MAX_TIMER_MS), or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface AgentDeps {
  exchange: (signal: AbortSignal) => Promise<ExchangeOutcome>;
  /** Writes the token, and what the proxy must declare (its entry, its probe) when the agent is told where. */
  writeToken: (token: string, proxy: ProxyDeclaration) => Promise<void>;
  log: AgentLog;
  timing: AgentTiming;
}

export interface RunOptions {
  /** Stop after the first token is written (init containers, tests). Transient failures are still retried. */
  once: boolean;
  /** Aborted on SIGTERM/SIGINT: the loop stops at once and returns 0. */
  signal: AbortSignal;
}

/** The real clock, Math.random and an abortable timer. */
export const systemTiming: AgentTiming = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      // Belt and braces: the loop never asks for more, and Node would fire a longer timer at once.
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** Runs until stopped (0), refused for good (1), or with `once`, until a token is written (0). */
export async function runAgent(deps: AgentDeps, options: RunOptions): Promise<number> {
  const { log, timing } = deps;
  const { signal } = options;
  let failures = 0;
  let tokenExpiresAt: Date | undefined;
  while (!signal.aborted) {
    const outcome = await attempt(deps, signal);
    if (signal.aborted) break;
    let delay: number;
    if (outcome.kind === 'issued') {
      const written = await write(deps, outcome.token, outcome.proxy ?? {});
      if (written === true) {
        failures = 0;
        tokenExpiresAt = outcome.expiresAt;
        if (outcome.clampedFrom !== undefined) log('warn', 'token.expiry_clamped', { answeredExpiresAt: outcome.clampedFrom, expiresAt: outcome.expiresAt.toISOString(), maxLifetimeSeconds: MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS });
        delay = refreshDelayMs(timing.now(), outcome.expiresAt.getTime(), timing.random());
        log('info', 'token.written', { expiresAt: outcome.expiresAt.toISOString(), refreshInMs: options.once ? undefined : delay, workloadEntry: outcome.proxy?.workloadEntry?.name, probe: outcome.proxy?.readinessProbe !== undefined });
        if (options.once) return EXIT_CODES.OK;
      } else {
        delay = backoffDelayMs(failures++, timing.random());
        log('error', 'token.write_failed', { code: written, retryInMs: delay });
      }
    } else if (outcome.kind === 'refused' && outcome.permanent) {
      log('error', 'exchange.refused', { status: outcome.status, reason: outcome.reason, message: outcome.message, permanent: true });
      return EXIT_CODES.REFUSED;
    } else {
      // Retry-After is a floor: a server asking for a pause gets at least that, never less than our backoff.
      delay = Math.max(outcome.retryAfterMs ?? 0, backoffDelayMs(failures++, timing.random()));
      const fields = outcome.kind === 'refused' ? { status: outcome.status, reason: outcome.reason, message: outcome.message, permanent: false } : { code: outcome.code, message: outcome.message };
      const stale = tokenExpiresAt !== undefined && tokenExpiresAt.getTime() <= timing.now();
      log('warn', outcome.kind === 'refused' ? 'exchange.refused' : 'exchange.failed', { ...fields, attempt: failures, retryInMs: delay, ...(stale ? { tokenExpired: true } : {}) });
    }
    await sleepFor(delay, timing, signal);
  }
  log('info', 'agent.stopped', { reason: 'signal' });
  return EXIT_CODES.OK;
}

/**
 * Waits `delay` ms (never less than the floor, NaN included) in steps of at most MAX_TIMER_MS.
 * After each step the rest is recomputed from the clock, so a clock that jumped ahead or a host that
 * was suspended shortens the wait, while a clock that stands still cannot make it last forever.
 */
async function sleepFor(delay: number, timing: AgentTiming, signal: AbortSignal): Promise<void> {
  let remaining = delay >= MIN_DELAY_MS ? delay : MIN_DELAY_MS;
  const deadline = timing.now() + remaining;
  while (remaining > 0 && !signal.aborted) {
    const step = Math.min(remaining, MAX_TIMER_MS);
    await timing.sleep(step, signal);
    remaining = Math.min(remaining - step, deadline - timing.now());
  }
}

async function attempt(deps: AgentDeps, signal: AbortSignal): Promise<ExchangeOutcome> {
  try {
    return await deps.exchange(signal);
  } catch (error) {
    // A bug, not the network: still retried, so one odd answer does not take the sidecar down.
    return { kind: 'unavailable', code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
  }
}

/** True, or the error code when the file could not be written. */
async function write(deps: AgentDeps, token: string, proxy: ProxyDeclaration): Promise<true | string> {
  try {
    await deps.writeToken(token, proxy);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'WRITE_FAILED';
  }
}
