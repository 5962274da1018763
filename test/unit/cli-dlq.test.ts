import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';

let api: FakeApi;
const records = [
  { messageId: 'm-1', reason: 'MALFORMED_EVENT', detail: 'not JSON', sentAt: '2026-03-01T12:00:00.000Z', receiveCount: 1, body: '{"oops":' },
  { messageId: 'm-2', sentAt: '2026-03-01T12:05:00.000Z', receiveCount: 6, body: `{"detail-type":"ECS Task State Change","detail":{"taskArn":"${'x'.repeat(80)}"}}` },
];

beforeEach(async () => {
  api = await startFakeApi('eu-west-1');
  api.intercept = (request) => {
    if (request.method === 'GET' && request.path === '/v1/dlq') return { status: 200, body: { records: records.slice(0, Number(request.query.limit ?? 20)) } };
    if (request.method === 'POST' && request.path === '/v1/dlq/replay') return { status: 200, body: { replayed: 1, records: records.slice(0, 1) } };
    return undefined;
  };
});
afterEach(() => api.close());

const cli = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' } });

describe('dlq list', () => {
  it('prints each record with its reason, first-sent time, receives and the start of its body', async () => {
    const run = await cli('dlq', 'list');

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'MESSAGE  REASON             FIRST SENT                RECEIVES  BODY',
      'm-1      MALFORMED_EVENT    2026-03-01T12:00:00.000Z  1         {"oops":',
      `m-2      RETRIES_EXHAUSTED  2026-03-01T12:05:00.000Z  6         {"detail-type":"ECS Task State Change","detail":{"taskArn":…`,
      '',
    ]);
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/dlq']);
  });

  it('passes --limit and prints JSON on request', async () => {
    const run = await cli('dlq', 'list', '--limit', '1', '-o', 'json');

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([records[0]]);
    expect(api.requests[0]!.query).toEqual({ limit: '1' });
  });

  it('says so when the queue is empty', async () => {
    api.intercept = () => ({ status: 200, body: { records: [] } });

    expect((await cli('dlq', 'list')).stdout).toBe('the dead-letter queue is empty\n');
  });
});

describe('dlq replay', () => {
  it('asks the API to replay and prints what went back through task-events', async () => {
    const run = await cli('dlq', 'replay', '--limit', '5');

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('replayed 1 record(s) through task-events');
    expect(run.stdout).toContain('m-1');
    expect(api.requests.map((r) => [r.method, r.path, r.body])).toEqual([['POST', '/v1/dlq/replay', '{"limit":5}']]);
  });

  it.each([
    { case: 'a zero limit', argv: ['dlq', 'replay', '--limit', '0'], message: '--limit must be an integer ≥ 1, not 0' },
    { case: 'an argument', argv: ['dlq', 'list', 'm-1'], message: 'dlq list takes no argument, got m-1' },
    { case: 'a flag of another command', argv: ['dlq', 'replay', '--dry-run'], message: 'dlq replay does not take --dry-run' },
    { case: 'no verb', argv: ['dlq'], message: 'dlq needs one of: list, replay' },
  ])('refuses $case as a usage error, sending nothing', async ({ argv, message }) => {
    const run = await cli(...argv);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${message}`);
    expect(api.requests).toEqual([]);
  });
});
