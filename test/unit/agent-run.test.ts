import { describe, expect, it } from 'vitest';
import type { ExchangeOutcome } from '../../cli/agent/exchange.js';
import type { LogFields, LogLevel } from '../../cli/agent/log.js';
import { runAgent, type AgentTiming } from '../../cli/agent/run.js';

const START = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

interface Harness {
  sleeps: number[];
  written: string[];
  logs: { level: LogLevel; event: string; fields: LogFields }[];
  run(options?: { once?: boolean; stopAfterSleeps?: number; failWrites?: number }): Promise<number>;
}

/** A loop whose exchanges answer `script` in turn, on a clock that only the sleeps advance. */
function harness(script: ((now: number) => ExchangeOutcome)[]): Harness {
  const h: Harness = {
    sleeps: [],
    written: [],
    logs: [],
    async run({ once = false, stopAfterSleeps = script.length, failWrites = 0 } = {}) {
      const stop = new AbortController();
      let now = START;
      let call = 0;
      let writeFailures = failWrites;
      const timing: AgentTiming = {
        now: () => now,
        random: () => 0.5,
        sleep: async (ms) => {
          h.sleeps.push(ms);
          now += ms;
          if (h.sleeps.length >= stopAfterSleeps) stop.abort();
        },
      };
      return runAgent(
        {
          exchange: async () => {
            const next = script[call++];
            if (!next) throw new Error('script exhausted');
            return next(now);
          },
          writeToken: async (token) => {
            if (writeFailures-- > 0) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
            h.written.push(token);
          },
          log: (level, event, fields = {}) => h.logs.push({ level, event, fields }),
          timing,
        },
        { once, signal: stop.signal },
      );
    },
  };
  return h;
}

const issued = (token: string, lifetimeMs = HOUR) => (now: number): ExchangeOutcome => ({ kind: 'issued', token, expiresAt: new Date(now + lifetimeMs) });
const refused = (status: number, reason: string, permanent: boolean, retryAfterMs?: number) => (): ExchangeOutcome => ({ kind: 'refused', status, reason, message: `refused: ${reason}`, permanent, ...(retryAfterMs ? { retryAfterMs } : {}) });
const unavailable = (code: string) => (): ExchangeOutcome => ({ kind: 'unavailable', code, message: 'exchange answered 503' });

describe('runAgent', () => {
  it('writes each token and refreshes at 2/3 of its lifetime', async () => {
    const h = harness([issued('t1'), issued('t2')]);

    const code = await h.run();

    expect(code).toBe(0);
    expect(h.written).toEqual(['t1', 't2']);
    expect(h.sleeps).toEqual([2_400_000, 2_400_000]);
    expect(h.logs.filter((l) => l.event === 'token.written')).toHaveLength(2);
    expect(h.logs.at(-1)).toMatchObject({ event: 'agent.stopped' });
  });

  it('backs off exponentially on transient failures and starts over after a success', async () => {
    const h = harness([unavailable('HTTP_503'), unavailable('ECONNREFUSED'), unavailable('STS_UNAVAILABLE'), issued('t1'), unavailable('TIMEOUT')]);

    await h.run();

    expect(h.sleeps).toEqual([1000, 1500, 3000, 2_400_000, 1000]);
    expect(h.written).toEqual(['t1']);
    expect(h.logs.filter((l) => l.event === 'exchange.failed').map((l) => l.fields.code)).toEqual(['HTTP_503', 'ECONNREFUSED', 'STS_UNAVAILABLE', 'TIMEOUT']);
  });

  it('waits at least as long as Retry-After asks on 429', async () => {
    const h = harness([refused(429, 'RATE_LIMITED', false, 20_000), issued('t1')]);

    await h.run();

    expect(h.sleeps[0]).toBe(20_000);
    expect(h.logs[0]).toMatchObject({ level: 'warn', event: 'exchange.refused', fields: { reason: 'RATE_LIMITED', permanent: false, retryInMs: 20_000 } });
  });

  it('retries a REPLAY refusal with a fresh signature', async () => {
    const h = harness([refused(409, 'REPLAY', false), issued('t1')]);

    await h.run();

    expect(h.written).toEqual(['t1']);
  });

  it('exits 1 on a permanent refusal and logs its reason', async () => {
    const h = harness([issued('t1'), refused(403, 'TASK_NOT_RUNNING', true)]);

    const code = await h.run();

    expect(code).toBe(1);
    expect(h.logs.at(-1)).toEqual({ level: 'error', event: 'exchange.refused', fields: { status: 403, reason: 'TASK_NOT_RUNNING', message: 'refused: TASK_NOT_RUNNING', permanent: true } });
  });

  it('with once, exits 0 after the first token, retrying transient failures first', async () => {
    const h = harness([unavailable('HTTP_502'), issued('t1'), issued('never')]);

    const code = await h.run({ once: true });

    expect(code).toBe(0);
    expect(h.written).toEqual(['t1']);
    expect(h.sleeps).toEqual([1000]);
  });

  it('retries when the token file cannot be written', async () => {
    const h = harness([issued('t1'), issued('t2')]);

    await h.run({ failWrites: 1 });

    expect(h.written).toEqual(['t2']);
    expect(h.logs[0]).toMatchObject({ level: 'error', event: 'token.write_failed', fields: { code: 'ENOSPC' } });
  });

  it('says so when the token on disk has expired while retrying', async () => {
    const h = harness([issued('t1', 3000), unavailable('HTTP_503'), unavailable('HTTP_503')]);

    await h.run();

    expect(h.logs.filter((l) => l.event === 'exchange.failed').map((l) => l.fields.tokenExpired)).toEqual([undefined, true]);
  });

  it('stops at once, with 0, when the signal is already aborted', async () => {
    const stop = new AbortController();
    stop.abort();
    const logs: string[] = [];

    const code = await runAgent(
      { exchange: async () => issued('t1')(START), writeToken: async () => undefined, log: (_l, event) => logs.push(event), timing: { now: () => START, random: () => 0, sleep: async () => undefined } },
      { once: false, signal: stop.signal },
    );

    expect(code).toBe(0);
    expect(logs).toEqual(['agent.stopped']);
  });

  it('never logs the token', async () => {
    const h = harness([issued('secret.jwt.value'), refused(403, 'POLICY_DENIED', true)]);

    await h.run();

    expect(JSON.stringify(h.logs)).not.toContain('secret.jwt.value');
  });
});
