import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';
import { aRecord } from '../fixtures/builders.js';

const ENROLLED = aRecord({ taskId: 'aaaa1111', phase: 'enrolled', reason: 'POLICY_ALLOWED', namespace: 'bookinfo', workloadGroup: 'ratings', address: '10.0.1.17', policy: 'allow-ratings', rule: 0, updatedAt: '2026-03-01T12:00:00.000Z', detail: 'allowed by allow-ratings rule 0' });
const REJECTED = aRecord({ taskId: 'bbbb2222', phase: 'rejected', reason: 'NO_WORKLOAD_GROUP_TAG', updatedAt: '2026-03-01T12:05:00.000Z', detail: 'neither the task nor its role names a group' });
const OTHER_CLUSTER = aRecord({ taskId: 'cccc3333', clusterName: 'staging', phase: 'enrolled', namespace: 'shop', workloadGroup: 'cart', address: '10.0.2.5' });

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi('eu-west-1');
  api.enrollments = [ENROLLED, REJECTED, OTHER_CLUSTER];
});
afterEach(() => api.close());

const cli = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' } });

describe('enrollments list', () => {
  it('passes the filters on as query parameters and prints a table', async () => {
    const run = await cli('enrollments', 'list', '--cluster', 'prod', '--limit', '50');

    expect(run).toEqual({
      code: 0,
      stdout: [
        'TASK      CLUSTER  PHASE     REASON                 GROUP             ADDRESS    UPDATED',
        'aaaa1111  prod     enrolled  POLICY_ALLOWED         bookinfo/ratings  10.0.1.17  2026-03-01T12:00:00.000Z',
        'bbbb2222  prod     rejected  NO_WORKLOAD_GROUP_TAG  -                 -          2026-03-01T12:05:00.000Z',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(api.requests.map((r) => [r.method, r.path, r.query])).toEqual([['GET', '/v1/enrollments', { cluster: 'prod', limit: '50' }]]);
  });

  it('prints the page as JSON with -o json: its records and no nextToken on the last page', async () => {
    const run = await cli('enrollments', 'list', '-n', 'bookinfo', '--phase', 'enrolled', '-o', 'json');

    expect(JSON.parse(run.stdout)).toEqual({ items: [api.enrollments[0], api.enrollments[2]].filter((r) => r?.namespace === 'bookinfo') });
    expect(api.requests[0]?.query).toEqual({ namespace: 'bookinfo', phase: 'enrolled' });
  });

  it('prints the next page\'s token for scripts: in the JSON, and on stderr under a table', async () => {
    const json = await cli('enrollments', 'list', '--limit', '2', '-o', 'json');
    const table = await cli('enrollments', 'list', '--limit', '2');

    expect(JSON.parse(json.stdout)).toEqual({ items: api.enrollments.slice(0, 2), nextToken: '2' });
    expect(table).toMatchObject({ code: 0, stderr: 'more records: add --next-token 2 (or --all)\n' });
    expect(table.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('asks for the page after --next-token, and follows every nextToken with --all', async () => {
    const next = await cli('enrollments', 'list', '--limit', '1', '--next-token', '2', '-o', 'json');
    api.requests.length = 0;
    const all = await cli('enrollments', 'list', '--limit', '1', '--all', '-o', 'json');

    expect(JSON.parse(next.stdout)).toEqual({ items: [api.enrollments[2]] });
    expect(JSON.parse(all.stdout)).toEqual({ items: api.enrollments });
    expect(api.requests.map((r) => r.query)).toEqual([{ limit: '1' }, { limit: '1', nextToken: '1' }, { limit: '1', nextToken: '2' }]);
  });

  it('answers a refused token with the API\'s reason', async () => {
    const run = await cli('enrollments', 'list', '--next-token', 'garbage');

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('INVALID_NEXT_TOKEN');
  });
});

describe('enrollments get', () => {
  it('takes the task id from a task ARN and prints the record with its detail', async () => {
    const run = await cli('enrollments', 'get', 'arn:aws:ecs:us-east-1:123456789012:task/prod/aaaa1111');

    expect(api.requests.map((r) => r.path)).toEqual(['/v1/enrollments/aaaa1111']);
    expect(run.stdout).toBe(
      [
        'TASK      CLUSTER  PHASE     REASON          GROUP             ADDRESS    UPDATED',
        'aaaa1111  prod     enrolled  POLICY_ALLOWED  bookinfo/ratings  10.0.1.17  2026-03-01T12:00:00.000Z',
        'detail: allowed by allow-ratings rule 0',
        'policy: allow-ratings rule 0',
        '',
      ].join('\n'),
    );
  });

  it('lists the task labels the entry does not carry under the record', async () => {
    api.enrollments = [{ ...ENROLLED, droppedLabels: [{ key: 'istio.io/rev', reason: 'TASK_LABEL_RESERVED_PREFIX' }, { key: 'tier', reason: 'TASK_LABEL_NOT_OPTED_IN' }] }];

    const run = await cli('enrollments', 'get', 'aaaa1111');

    expect(run.stdout.split('\n').slice(-3)).toEqual(['dropped task label istio.io/rev: TASK_LABEL_RESERVED_PREFIX', 'dropped task label tier: TASK_LABEL_NOT_OPTED_IN', '']);
  });

  it('prints the record as YAML with -o yaml, and a missing one as the API\'s 404', async () => {
    const found = await cli('enrollments', 'get', 'bbbb2222', '-o', 'yaml');
    const missing = await cli('enrollments', 'get', 'dddd4444');

    expect(found.stdout).toContain('taskId: bbbb2222\n');
    expect(found.stdout).toContain('reason: NO_WORKLOAD_GROUP_TAG\n');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'error: 404 ENROLLMENT_NOT_FOUND: no enrollment record for task dddd4444\n' });
  });
});
