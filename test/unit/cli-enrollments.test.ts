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

  it('prints the records as a JSON array with -o json', async () => {
    const run = await cli('enrollments', 'list', '-n', 'bookinfo', '--phase', 'enrolled', '-o', 'json');

    expect(JSON.parse(run.stdout)).toEqual([api.enrollments[0], api.enrollments[2]].filter((r) => r?.namespace === 'bookinfo'));
    expect(api.requests[0]?.query).toEqual({ namespace: 'bookinfo', phase: 'enrolled' });
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

  it('prints the record as YAML with -o yaml, and a missing one as the API\'s 404', async () => {
    const found = await cli('enrollments', 'get', 'bbbb2222', '-o', 'yaml');
    const missing = await cli('enrollments', 'get', 'dddd4444');

    expect(found.stdout).toContain('taskId: bbbb2222\n');
    expect(found.stdout).toContain('reason: NO_WORKLOAD_GROUP_TAG\n');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'error: 404 ENROLLMENT_NOT_FOUND: no enrollment record for task dddd4444\n' });
  });
});
