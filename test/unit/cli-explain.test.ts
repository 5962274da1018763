import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';

const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef';

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi('eu-west-1');
});
afterEach(() => api.close());

const cli = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' } });

describe('explain', () => {
  it('posts an identity with its group and prints the allowing policy and the trace', async () => {
    api.explain = () => ({
      status: 200,
      body: {
        allowed: true,
        outcome: 'enrolled',
        reason: 'POLICY_ALLOWED',
        detail: 'allowed by allow-ratings rule 0',
        policy: 'allow-ratings',
        rule: 0,
        group: { namespace: 'bookinfo', name: 'ratings', labels: { app: 'ratings' } },
        trace: [
          { policy: 'allow-other', revision: 3, result: 'no-match', reasons: ['rule 0: workloads: account 123456789012 not listed', 'rule 1: workloads: cluster prod not listed'] },
          { policy: 'allow-ratings', revision: 1, result: 'allowed', rule: 0, reasons: [] },
        ],
      },
    });

    const run = await cli('explain', '--account', '123456789012', '--identity-region', 'us-east-1', '--zone', 'us-east-1b', '--cluster', 'prod', '--role-name', 'ratings-task', '--role-tag', 'team=ratings', '--role-tag', 'tier=', '--launch-type', 'FARGATE', '--group', 'bookinfo/ratings', '--group-label', 'app=ratings');

    expect(run).toEqual({
      code: 0,
      stdout: [
        'ALLOWED by policy allow-ratings rule 0',
        'POLICY         REVISION  RESULT    WHY',
        'allow-other    3         no-match  rule 0: workloads: account 123456789012 not listed; rule 1: workloads: cluster prod not listed',
        'allow-ratings  1         allowed   rule 0',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.path).toBe('/v1/explain');
    expect(api.requests[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(api.requests[0]?.body ?? '')).toEqual({
      identity: { account: '123456789012', region: 'us-east-1', zone: 'us-east-1b', cluster: 'prod', launchType: 'FARGATE', roleName: 'ratings-task', roleTags: { team: 'ratings', tier: '' } },
      group: { namespace: 'bookinfo', name: 'ratings' },
      groupLabels: { app: 'ratings' },
    });
  });

  it('lists the task labels the entry would not carry under the verdict', async () => {
    api.explain = () => ({ status: 200, body: { allowed: true, outcome: 'enrolled', reason: 'POLICY_ALLOWED', detail: 'ok', policy: 'allow-ratings', rule: 0, droppedLabels: [{ key: 'security.istio.io/tlsMode', reason: 'TASK_LABEL_RESERVED_PREFIX' }], trace: [] } });

    const run = await cli('explain', '--task-arn', TASK_ARN);

    expect(run.stdout).toBe('ALLOWED by policy allow-ratings rule 0\ndropped task label security.istio.io/tlsMode: TASK_LABEL_RESERVED_PREFIX\n');
  });

  it('sends role tags and group labels named __proto__ or constructor as given, for the API to judge', async () => {
    api.explain = () => ({ status: 200, body: { allowed: false, outcome: 'rejected', reason: 'POLICY_DENIED', detail: 'no', trace: [] } });

    await cli('explain', '--account', '123456789012', '--identity-region', 'us-east-1', '--cluster', 'prod', '--role-name', 'r', '--role-tag', '__proto__=x', '--role-tag', 'constructor=y', '--group', 'bookinfo/ratings', '--group-label', '__proto__=z');

    expect(api.requests[0]?.body).toContain('"roleTags":{"__proto__":"x","constructor":"y"}');
    expect(api.requests[0]?.body).toContain('"groupLabels":{"__proto__":"z"}');
  });

  it('prints a refusal with its reason and detail and still exits 0', async () => {
    api.explain = () => ({
      status: 200,
      body: {
        allowed: false,
        outcome: 'rejected',
        reason: 'POLICY_DENIED',
        detail: 'no policy of bookinfo allows this task into ratings',
        trace: [{ policy: 'allow-ratings', revision: 4, result: 'no-match', reasons: ['rule 0: workloads: role tag team missing'] }],
      },
    });

    const run = await cli('explain', '--task-arn', TASK_ARN, '--cluster', 'prod');

    expect(run).toEqual({
      code: 0,
      stdout: [
        'REFUSED: POLICY_DENIED — no policy of bookinfo allows this task into ratings',
        'POLICY         REVISION  RESULT    WHY',
        'allow-ratings  4         no-match  rule 0: workloads: role tag team missing',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(JSON.parse(api.requests[0]?.body ?? '')).toEqual({ taskArn: TASK_ARN, cluster: 'prod' });
  });

  it('prints the whole answer with -o json', async () => {
    const answer = { allowed: false, outcome: 'rejected', reason: 'WORKLOAD_GROUP_NOT_FOUND', detail: 'bookinfo/ratings does not exist', trace: [], extra: 'kept' };
    api.explain = () => ({ status: 200, body: answer });

    const run = await cli('explain', '--task-arn', TASK_ARN, '-o', 'json');

    expect(JSON.parse(run.stdout)).toEqual(answer);
  });

  it('says which field a broken answer lacks instead of crashing', async () => {
    api.explain = () => ({ status: 200, body: { allowed: 'yes', trace: [] } });

    const run = await cli('explain', '--task-arn', TASK_ARN);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: unexpected answer to POST \/prod\/v1\/explain \(200\): allowed: .+; outcome: required; reason: required; detail: required\n$/);
  });

  it.each([
    { case: 'a task ARN together with an identity', argv: ['--task-arn', TASK_ARN, '--account', '123456789012'], message: 'error: --task-arn cannot be combined with --account' },
    { case: 'neither a task ARN nor an identity', argv: ['--group', 'bookinfo/ratings'], message: 'error: explain needs --task-arn ARN, or an identity' },
    { case: 'an identity without a group', argv: ['--account', '123456789012', '--identity-region', 'us-east-1', '--cluster', 'prod', '--role-name', 'r'], message: 'error: missing --group NAMESPACE/NAME (with an identity)' },
    { case: 'both a role ARN and a role name', argv: ['--account', '1', '--identity-region', 'r', '--cluster', 'c', '--role-name', 'r', '--role-arn', 'arn', '--group', 'a/b'], message: 'error: explain needs exactly one of --role-arn and --role-name' },
    { case: 'a launch type ECS does not have', argv: ['--account', '1', '--identity-region', 'r', '--cluster', 'c', '--role-name', 'r', '--launch-type', 'LAMBDA', '--group', 'a/b'], message: 'error: --launch-type must be one of FARGATE, EC2, EXTERNAL, not LAMBDA' },
    { case: 'a label without =', argv: ['--account', '1', '--identity-region', 'r', '--cluster', 'c', '--role-name', 'r', '--group', 'a/b', '--group-label', 'app'], message: 'error: --group-label must be KEY=VALUE, not app' },
    { case: 'group labels with a task ARN', argv: ['--task-arn', TASK_ARN, '--group-label', 'app=x'], message: 'error: --group-label goes only with an identity, not with --task-arn' },
    { case: 'the global --region used for the identity', argv: ['--account', '1', '--region', 'us-east-1', '--cluster', 'c', '--role-name', 'r', '--group', 'a/b'], message: 'error: missing --identity-region' },
  ])('refuses $case as a usage error without a request', async ({ argv, message }) => {
    const run = await cli('explain', ...argv);

    expect(run.code).toBe(2);
    expect(run.stderr.startsWith(message)).toBe(true);
    expect(run.stderr.slice(run.stderr.indexOf('\n') + 1)).toBe("see 'ecs-mesh explain --help'\n");
    expect(api.requests).toEqual([]);
  });
});
