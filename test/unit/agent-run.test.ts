import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postExchange, type ExchangeOutcome } from '../../cli/agent/exchange.js';
import type { LogFields, LogLevel } from '../../cli/agent/log.js';
import { runAgent, type AgentTiming } from '../../cli/agent/run.js';
import { MAX_TIMER_MS } from '../../cli/agent/schedule.js';
import type { ExchangeRequestBody } from '../../cli/agent/sign-request.js';
import { startExchangeEndpoint, type StandIn, type StandInAnswer } from '../../local/ecs-agent-endpoints.js';

const START = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Node fires a timer longer than this after 1 ms (with a TimeoutOverflowWarning); the fake clock does the same.
const NODE_MAX_TIMER_MS = 2 ** 31 - 1;

interface Harness {
  sleeps: number[];
  written: string[];
  exchanges: number;
  logs: { level: LogLevel; event: string; fields: LogFields }[];
  run(options?: { once?: boolean; stopAfterSleeps?: number; stopAt?: number; failWrites?: number }): Promise<number>;
}

/** A loop whose exchanges answer `script` in turn, on a clock that only the sleeps advance, as Node's timers would. */
function harness(script: ((now: number) => ExchangeOutcome | Promise<ExchangeOutcome>)[], random = 0.5): Harness {
  const h: Harness = {
    sleeps: [],
    written: [],
    exchanges: 0,
    logs: [],
    async run({ once = false, stopAfterSleeps = script.length, stopAt = Infinity, failWrites = 0 } = {}) {
      const stop = new AbortController();
      let now = START;
      let call = 0;
      let writeFailures = failWrites;
      const timing: AgentTiming = {
        now: () => now,
        random: () => random,
        sleep: async (ms) => {
          h.sleeps.push(ms);
          now += ms > NODE_MAX_TIMER_MS ? 1 : ms;
          if (h.sleeps.length >= stopAfterSleeps || now >= stopAt) stop.abort();
        },
      };
      return runAgent(
        {
          exchange: async () => {
            const next = script[call++];
            h.exchanges = call;
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

    expect(h.sleeps).toEqual([1500, 2500, 4500, 2_400_000, 1500]);
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
    expect(h.sleeps).toEqual([1500]);
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

  it('waits out a 50-day token in bounded steps instead of exchanging again at once', async () => {
    const h = harness([issued('t1', 50 * DAY), issued('t2')]);

    await h.run({ stopAt: START + 10 * DAY, stopAfterSleeps: 1000 });

    expect(h.exchanges).toBe(1);
    expect(h.written).toEqual(['t1']);
    expect(Math.max(...h.sleeps)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(h.sleeps).toHaveLength(10);
  });

  it('refreshes a 30-day token after 2/3 of it, in steps of at most a day', async () => {
    const h = harness([issued('t1', 30 * DAY), issued('t2')]);

    await h.run({ stopAfterSleeps: 21 });

    expect(h.written).toEqual(['t1', 't2']);
    expect(h.sleeps.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => DAY));
  });

  it('backs off with jitter from the first retry, never below a second', async () => {
    const low = harness(Array.from({ length: 8 }, () => unavailable('HTTP_503')), 0);
    const high = harness(Array.from({ length: 8 }, () => unavailable('HTTP_503')), 0.999_999);

    await low.run();
    await high.run();

    expect(low.sleeps).toEqual(Array.from({ length: 8 }, () => 1000));
    expect(high.sleeps).toEqual([2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  describe('against an exchange answering a bad expiry', () => {
    const BODY: ExchangeRequestBody = { iam_http_request_method: 'POST', iam_request_url: 'dXJs', iam_request_body: 'Ym9keQ==', iam_request_headers: 'e30=', taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/shop/abc' };
    let answer: (now: number) => StandInAnswer = () => ({ status: 500, body: {} });
    let endpoint: StandIn;
    beforeAll(async () => {
      endpoint = await startExchangeEndpoint(() => answer(START));
    });
    afterAll(async () => {
      await endpoint.close();
    });
    const viaEndpoint = (now: number) => postExchange(`${endpoint.url}/v1/auth/exchange`, BODY, { now: () => now });

    it.each([
      { case: 'expiresAt 1e20', expiresAt: () => 1e20 },
      { case: 'expiresAt a minute past', expiresAt: (now: number) => now / 1000 - 60 },
      { case: 'expiresAt just now', expiresAt: (now: number) => new Date(now).toISOString() },
      { case: 'a non-numeric expiresAt', expiresAt: () => 'soon' },
      { case: 'a null expiresAt', expiresAt: () => null },
    ])('logs $case, writes nothing and retries with a growing backoff', async ({ expiresAt }) => {
      answer = (now) => ({ status: 200, body: { token: 'a.b.c', expiresAt: expiresAt(now) } });
      const h = harness(Array.from({ length: 6 }, () => viaEndpoint), 0.999_999);

      const code = await h.run();

      expect(code).toBe(0);
      expect(h.written).toEqual([]);
      expect(h.sleeps).toEqual([2000, 4000, 8000, 16_000, 32_000, 60_000]);
      expect(h.logs[0]).toMatchObject({ level: 'warn', event: 'exchange.failed', fields: { code: 'MALFORMED_ANSWER', attempt: 1, retryInMs: 2000 } });
      expect(String(h.logs[0]!.fields.message)).toMatch(/^exchange answered 200 /);
    });

    it('clamps an expiry far beyond any lifetime a deployment issues, and says so', async () => {
      answer = () => ({ status: 200, body: { token: 'a.b.c', expiresAt: '9999-12-31T23:59:59Z' } });
      const h = harness([viaEndpoint]);

      await h.run({ stopAfterSleeps: 1 });

      expect(h.written).toEqual(['a.b.c']);
      expect(h.logs[0]).toEqual({ level: 'warn', event: 'token.expiry_clamped', fields: { answeredExpiresAt: '9999-12-31T23:59:59.000Z', expiresAt: new Date(START + 30 * DAY).toISOString(), maxLifetimeSeconds: 30 * 86_400 } });
      expect(h.logs[1]).toMatchObject({ event: 'token.written', fields: { refreshInMs: 20 * DAY } });
    });
  });
});
