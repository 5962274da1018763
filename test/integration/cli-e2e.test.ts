/**
 * The operator CLI as an operator runs it: a subprocess, SigV4 with the standard credential
 * chain (here the environment), against `npm run local`, applying the README's example files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseAllDocuments } from 'yaml';
import { localNames } from '../../local/bootstrap.js';
import { startLocalProcess, until, type LocalProcess } from '../support/local-process.js';
import { runRatingsTask, writeRatingsGroup } from '../support/local-task.js';

let local: LocalProcess;
let dir: string;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<CliRun> {
  const env = { ...process.env, ECS_MESH_API_URL: local.issuer, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', AWS_PROFILE: '', AWS_ENDPOINT_URL: '' };
  delete (env as Record<string, string | undefined>).AWS_PROFILE;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/ecs-mesh.ts', ...args], { env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
  writeRatingsGroup(join(dir, 'mesh'));
  // No background or policy-stream reconcile: the test runs its own passes and must see the entry it deleted missing.
  local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), RECONCILE_INTERVAL_SECONDS: '3600', LOCAL_POLICY_STREAM: 'off' });
}, 120_000);

afterAll(async () => {
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ecs-mesh against npm run local', () => {
  it('applies the example policy files, then finds nothing to change', async () => {
    const first = await cli('policy', 'apply', '-f', 'examples/policies/');
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('onboardingpolicy bookinfo/allow-ratings created (revision 1)');
    expect(first.stdout).toContain('onboardingpolicy bookinfo/allow-reviews created (revision 1)');
    expect(first.stdout).toContain('onboardingpolicy kong-mesh-system/kong-dataplanes created (revision 1)');

    const again = await cli('policy', 'apply', '-f', 'examples/policies/bookinfo.yaml');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('onboardingpolicy bookinfo/allow-ratings unchanged (revision 1)');

    const list = await cli('policy', 'list', '-n', 'bookinfo');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/NAMESPACE\s+NAME\s+REVISION/);
    expect(list.stdout).toMatch(/bookinfo\s+allow-ratings\s+1/);
    expect(list.stdout).toMatch(/bookinfo\s+allow-reviews\s+1/);

    // -o yaml gives back documents that apply as they are.
    const yaml = await cli('policy', 'get', 'bookinfo/allow-ratings', '-o', 'yaml');
    expect(parseAllDocuments(yaml.stdout).map((d) => d.toJS())).toMatchObject([{ kind: 'OnboardingPolicy', metadata: { name: 'allow-ratings', namespace: 'bookinfo' } }]);
  });

  it('refuses an invalid file with the server\'s pointers and exits 1, applying the valid documents', async () => {
    const file = join(dir, 'mixed.yaml');
    writeFileSync(
      file,
      'apiVersion: ecsmesh.io/v1alpha1\nkind: OnboardingPolicy\nmetadata: {name: bad, namespace: bookinfo}\nspec:\n  allow:\n  - workloads: [{aws: {accounts: ["*"]}}]\n    onboardTo: [{workloadGroupSelector: {}}]\n' +
        '---\napiVersion: ecsmesh.io/v1alpha1\nkind: OnboardingPolicy\nmetadata: {name: good, namespace: scratch}\nspec: {allow: []}\n',
    );
    const run = await cli('policy', 'apply', '-f', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('/spec/allow/0/workloads/0/aws/accounts/0: wildcards are not allowed');
    expect(run.stdout).toContain('onboardingpolicy scratch/good created');
  });

  it('explains an allowed and a refused identity', async () => {
    const identity = ['--account', '123456789012', '--identity-region', 'us-east-1', '--cluster', 'demo', '--role-name', 'ratings-task', '--group', 'bookinfo/ratings'];
    const allowed = await cli('explain', ...identity, '--role-tag', 'team=ratings');
    expect(allowed, allowed.stderr).toMatchObject({ code: 0 });
    expect(allowed.stdout).toContain('ALLOWED by policy allow-ratings rule 0');

    const refused = await cli('explain', ...identity, '--role-tag', 'team=intruders');
    expect(refused.code).toBe(0);
    expect(refused.stdout).toContain('REFUSED: POLICY_DENIED');
    expect(refused.stdout).toMatch(/allow-ratings\s+1\s+no-match\s+.*role tag team=intruders not in \[ratings\]/);

    const json = await cli('explain', ...identity, '--role-tag', 'team=ratings', '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ allowed: true, policy: 'allow-ratings', rule: 0 });
  });

  it('lists the enrollments of a task enrolled under the applied policy, and explains it by ARN', async () => {
    const { taskArn, taskId } = await runRatingsTask(local.aws);

    const listed = await until('the task to be listed as enrolled', async () => {
      const out = await cli('enrollments', 'list', '--cluster', 'demo');
      return out.code === 0 && new RegExp(`${taskId}\\s+demo\\s+enrolled`).test(out.stdout) ? out : undefined;
    }, 60, () => local.output());
    expect(listed.stdout).toMatch(/TASK\s+CLUSTER\s+PHASE/);
    expect(listed.stdout).toContain('bookinfo/ratings');

    const one = await cli('enrollments', 'get', taskArn, '-o', 'json');
    expect(JSON.parse(one.stdout)).toMatchObject({ taskId, phase: 'enrolled', policy: 'allow-ratings', rule: 0 });

    const explained = await cli('explain', '--task-arn', taskArn);
    expect(explained.stdout).toContain('ALLOWED by policy allow-ratings rule 0');
  }, 90_000);

  it('reconciles on demand: a dry run reports an entry deleted by hand, a real run puts it back', async () => {
    const listed = await cli('enrollments', 'list', '--cluster', 'demo', '-o', 'json');
    const enrolled = (JSON.parse(listed.stdout) as { items: { taskId: string; entryName: string; namespace: string; phase: string }[] }).items.find((r) => r.phase === 'enrolled')!;
    const entryFiles = () => readdirSync(join(dir, 'mesh', 'workloadentries'), { recursive: true }).map(String).filter((f) => f.includes(enrolled.entryName));
    for (const file of entryFiles()) rmSync(join(dir, 'mesh', 'workloadentries', file));
    expect(entryFiles()).toEqual([]);

    const dry = await cli('reconcile', '--cluster', 'demo', '--dry-run', '-o', 'json');
    expect(dry, dry.stderr).toMatchObject({ code: 0 });
    // What the pass saw, and what the local stack logged, if it found nothing to repair.
    const context = () => `entry files now: ${JSON.stringify(entryFiles())}\n${dry.stdout}\n${local.output().slice(-4000)}`;
    expect((JSON.parse(dry.stdout) as { repairs: unknown[] }).repairs, context()).toEqual([expect.objectContaining({ taskId: enrolled.taskId, kind: 'missing', applied: false })]);
    const table = await cli('reconcile', '--cluster', 'demo', '--dry-run');
    expect(table.stdout).toContain('DRY RUN: would repair 1');
    expect(table.stdout).toMatch(new RegExp(`${enrolled.taskId}\\s+missing\\s+no`));
    expect(entryFiles()).toEqual([]);

    const real = await cli('reconcile', '--cluster', 'demo', '-o', 'json');
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, counts: { missing: 1 }, repairs: [{ taskId: enrolled.taskId, kind: 'missing', applied: true }] });
    expect(entryFiles().length).toBe(1);
    const record = JSON.parse((await cli('enrollments', 'get', enrolled.taskId, '-o', 'json')).stdout);
    expect(record).toMatchObject({ phase: 'enrolled', repair: { kind: 'missing' } });
  }, 60_000);

  it('lists a malformed event task-events set aside, and replays it through task-events, which sets it aside again', async () => {
    const sqs = new SQSClient(local.aws);
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: localNames().queueName }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"detail-type": "not ECS"}' }));
    const listedOnce = () => cli('dlq', 'list', '-o', 'json').then((run) => (run.code === 0 && JSON.parse(run.stdout).length > 0 ? (JSON.parse(run.stdout) as { messageId: string; reason: string; body: string }[]) : undefined));

    const [setAside] = await until('the malformed event on the DLQ', listedOnce, 20, () => local.output());
    expect(setAside).toMatchObject({ reason: 'MALFORMED_EVENT', body: '{"detail-type": "not ECS"}' });
    const table = await cli('dlq', 'list');
    expect(table.stdout).toMatch(/MESSAGE\s+REASON\s+FIRST SENT\s+RECEIVES\s+BODY/);

    const replay = await cli('dlq', 'replay');
    expect(replay, replay.stderr).toMatchObject({ code: 0 });
    expect(replay.stdout).toContain('replayed 1 record(s) through task-events');

    const [again] = await until('the replayed event set aside again', listedOnce, 20, () => local.output());
    expect(again).toMatchObject({ reason: 'MALFORMED_EVENT', body: '{"detail-type": "not ECS"}' });
    expect(again!.messageId).not.toBe(setAside!.messageId);
  }, 90_000);

  it('fails clearly without credentials the API accepts', async () => {
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/ecs-mesh.ts', 'policy', 'list', '-n', 'bookinfo'], {
      env: { ...process.env, ECS_MESH_API_URL: local.issuer, AWS_ACCESS_KEY_ID: 'someone-else', AWS_SECRET_ACCESS_KEY: 'x', AWS_REGION: 'us-east-1' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(run).toMatchObject({ code: 1 });
    expect((run as { stderr: string }).stderr).toContain('403 Forbidden');
  });
});
