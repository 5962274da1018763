import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateAccessKeyCommand, CreateUserCommand, DeleteRoleCommand } from '@aws-sdk/client-iam';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { aPolicy } from '../fixtures/builders.js';
import { aTaskStateChange } from '../fixtures/ecs-events.js';
import { AUDIENCE, startExchange, type ExchangeHarness } from '../support/exchange-harness.js';
import { localAwsConfig } from '../support/local-aws.js';
import { Pipeline } from '../support/pipeline.js';
import { SecretsManagerJwks } from '../../shared/adapters/secrets-manager-jwks.js';
import type { AwsCredentials } from '../../cli/agent/credentials.js';

let p: Pipeline;
let x: ExchangeHarness;
let allowedRole: string;
let otherRole: string;
let untaggedRole: string;
let taskDef: string;
let untaggedDef: string;
const taskId = (arn: string) => arn.split('/').pop()!;

/** A running task of the allowed service and its role's credentials, as the agent would have them. */
async function runningTask(def = taskDef, roleArn = allowedRole): Promise<{ taskArn: string; creds: AwsCredentials }> {
  const [taskArn] = await p.runTask('prod', def);
  return { taskArn: taskArn!, creds: await x.assumeTaskRole(roleArn, taskId(taskArn!)) };
}

beforeAll(async () => {
  p = await Pipeline.start('-auth');
  await p.createCluster('prod');
  allowedRole = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  otherRole = await p.createRole('reviews-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  untaggedRole = await p.createRole('plain-task', { team: 'ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: allowedRole });
  untaggedDef = await p.registerTaskDefinition('plain', { roleArn: untaggedRole });
  await p.putPolicy(aPolicy());
  p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { metadata: { labels: { app: 'ratings', version: 'v1' } }, template: { serviceAccount: 'bookinfo-ratings' } } });
  p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'secret-svc', namespace: 'bookinfo', labels: { app: 'secret' } }, spec: { template: {} } });
  x = await startExchange(p);
});

afterAll(() => p.stop());

describe('POST /v1/auth/exchange', () => {
  it('issues a per-task onboarding token that verifies through the published keys, and records it', async () => {
    const { taskArn, creds } = await runningTask();

    const res = await x.exchange(await x.sign(creds, taskArn, { labels: { version: 'v1' } }));

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ tokenType: 'Bearer', profile: 'istio', workloadGroup: 'bookinfo/ratings', workloadEntry: { namespace: 'bookinfo', name: `ratings-${taskId(taskArn)}` } });
    const published = await new SecretsManagerJwks(p.clients.secrets, 'ecs-mesh/jwks', 0).publicKeys(new Date());
    const { payload } = await jwtVerify(String(res.json.token), createLocalJWKSet({ keys: published }), { audience: 'istio-ca' });
    expect(payload).toMatchObject({ sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', 'ecsmesh.io/task-arn': taskArn });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect((await p.record(taskArn))?.onboardingToken).toMatchObject({ jti: payload.jti, expiresAt: res.json.expiresAt });
    expect(x.stsCalls.every((url) => url === `${localAwsConfig().endpoint}/`)).toBe(true);
    expect(JSON.stringify(x.log.lines)).not.toContain(String(res.json.token));
  });

  it('keeps one live token per task in the record when the agent exchanges again', async () => {
    const { taskArn, creds } = await runningTask();
    const first = await x.exchange(await x.sign(creds, taskArn));

    const second = await x.exchange(await x.sign(creds, taskArn, { signingDate: new Date(Date.now() + 1000) }));

    expect([first.status, second.status]).toEqual([200, 200]);
    expect((await p.record(taskArn))?.onboardingToken?.expiresAt).toBe(second.json.expiresAt);
  });

  it('keeps the recorded token when the task events arrive after the exchange, until the tombstone', async () => {
    const { taskArn, creds } = await runningTask();
    const clusterArn = `arn:aws:ecs:us-east-1:123456789012:cluster/prod`;
    const issued = await x.exchange(await x.sign(creds, taskArn));

    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' })]);

    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', version: 3, onboardingToken: { expiresAt: issued.json.expiresAt } });
    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })]);
    expect((await p.record(taskArn))?.onboardingToken).toBeUndefined();
  });

  type Row = { case: string; status: number; reason: string; stsCalls: number; make: () => Promise<unknown> };
  // Each hostile request lives once: what parsing refuses before STS (the endpoint, the action,
  // the audience, the signature's form and age, sizes and shapes) is test/unit/exchange-request.test.ts's,
  // on the same signed requests; each refusal of the enrollment decision, in the exchange's code, is
  // test/unit/refusals-agree.test.ts's; here, what only STS's real answer (moto) shows.
  const rows: Row[] = [
    // Who is calling, proven by STS and checked against IAM and ECS.
    {
      case: 'an IAM user caller', status: 403, reason: 'PRINCIPAL_TYPE', stsCalls: 1,
      make: async () => {
        await p.clients.iam.send(new CreateUserCommand({ UserName: 'someone' }));
        const key = (await p.clients.iam.send(new CreateAccessKeyCommand({ UserName: 'someone' }))).AccessKey!;
        const [taskArn] = await p.runTask('prod', taskDef);
        return x.sign({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }, taskArn!);
      },
    },
    { case: 'a role of another account', status: 403, reason: 'ACCOUNT_NOT_ALLOWED', stsCalls: 1, make: async () => { const [taskArn] = await p.runTask('prod', taskDef); return x.sign(await x.assumeTaskRole('arn:aws:iam::222222222222:role/ratings-task', taskId(taskArn!)), taskArn!); } },
    {
      case: 'a role that is gone (its RoleId no longer matches)', status: 403, reason: 'ROLE_MISMATCH', stsCalls: 1,
      make: async () => {
        const doomed = await p.createRole('doomed-task', { team: 'ratings' });
        const [taskArn] = await p.runTask('prod', taskDef);
        const creds = await x.assumeTaskRole(doomed, taskId(taskArn!));
        await p.clients.iam.send(new DeleteRoleCommand({ RoleName: 'doomed-task' }));
        return x.sign(creds, taskArn!);
      },
    },
    { case: "a session of another task", status: 403, reason: 'SESSION_MISMATCH', stsCalls: 1, make: async () => { const [mine, theirs] = await p.runTask('prod', taskDef, { count: 2 }); return x.sign(await x.assumeTaskRole(allowedRole, taskId(theirs!)), mine!); } },
    { case: 'a stopped task', status: 403, reason: 'TASK_NOT_RUNNING', stsCalls: 1, make: async () => { const { taskArn, creds } = await runningTask(); await p.stopTask('prod', taskArn); return x.sign(creds, taskArn); } },
    { case: 'a task that runs with another role', status: 403, reason: 'TASK_ROLE_MISMATCH', stsCalls: 1, make: async () => { const [taskArn] = await p.runTask('prod', taskDef); return x.sign(await x.assumeTaskRole(otherRole, taskId(taskArn!)), taskArn!); } },
    { case: 'a group outside the policy', status: 403, reason: 'POLICY_DENIED', stsCalls: 1, make: async () => { const { taskArn, creds } = await runningTask(untaggedDef, untaggedRole); return x.sign(creds, taskArn, { workloadGroup: 'bookinfo/secret-svc' }); } },
    { case: 'labels the group does not give', status: 403, reason: 'LABELS_NOT_ALLOWED', stsCalls: 1, make: async () => { const { taskArn, creds } = await runningTask(); return x.sign(creds, taskArn, { labels: { version: 'v2-admin' } }); } },
    {
      case: "a mesh-reserved label the task's own tag asks for", status: 403, reason: 'LABELS_NOT_ALLOWED', stsCalls: 1,
      make: async () => {
        const [taskArn] = await p.runTask('prod', taskDef, { tags: { 'ecsmesh.io/label/security.istio.io/tlsMode': 'disabled' } });
        return x.sign(await x.assumeTaskRole(allowedRole, taskId(taskArn!)), taskArn!, { labels: { 'security.istio.io/tlsMode': 'disabled' } });
      },
    },
  ];

  it.each(rows)('refuses $case with $status $reason', async ({ make, status, reason, stsCalls }) => {
    const body = await make();
    const before = x.stsCalls.length;

    const res = await x.exchange(body);

    expect({ status: res.status, reason: res.json.reason }).toEqual({ status, reason });
    expect(x.stsCalls.slice(before)).toEqual(Array(stsCalls).fill(`${localAwsConfig().endpoint}/`));
    expect(res.json).not.toHaveProperty('token');
    // Refusals leak nothing: no signature value, no STS body, no token.
    expect(String(res.json.message)).not.toMatch(/Signature=[0-9a-f]{64}|<\?xml|ErrorResponse|eyJ/);
  });

  it('refuses a replayed signature without calling STS again', async () => {
    const { taskArn, creds } = await runningTask();
    const body = await x.sign(creds, taskArn);
    await x.exchange(body);
    const before = x.stsCalls.length;

    const replay = await x.exchange(body);

    expect({ status: replay.status, reason: replay.json.reason }).toEqual({ status: 409, reason: 'REPLAY' });
    expect(x.stsCalls.length).toBe(before);
  });

  it('rate-limits a looping agent per task once STS has proven it', async () => {
    const { taskArn, creds } = await runningTask();
    const answers = await x.atFreshMinute(async (t0) => {
      const sent = [];
      for (let i = 0; i < 12; i++) sent.push(await x.exchange(await x.sign(creds, taskArn, { signingDate: new Date(t0.getTime() - i * 1000) }), `10.1.1.${i}`));
      return sent;
    });

    const limited = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    expect(limited).toHaveLength(2);
    expect(limited[0]).toMatchObject({ json: { reason: 'RATE_LIMITED' }, headers: { 'retry-after': '60' } });
  });

  describe('no one can spend a task’s budget by naming it', () => {
    const madeUp = (): AwsCredentials => ({ accessKeyId: `AKIA${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`, secretAccessKey: randomUUID() });

    it('still serves the task after 12 requests naming it with made-up credentials', async () => {
      const victim = await runningTask();
      const own = await x.atFreshMinute(async (t0) => {
        for (let i = 0; i < 12; i++) await x.exchange(await x.sign(madeUp(), victim.taskArn, { signingDate: new Date(t0.getTime() - i * 1000) }), `10.2.2.${i}`);
        return x.exchange(await x.sign(victim.creds, victim.taskArn));
      });

      expect({ status: own.status, reason: own.json.reason }).toEqual({ status: 200, reason: undefined });
    });

    it("still serves the task after 12 requests naming it from another role's session named after it", async () => {
      const victim = await runningTask();
      const impostor = await x.assumeTaskRole(otherRole, taskId(victim.taskArn));
      const refused: Awaited<ReturnType<typeof x.exchange>>[] = [];
      const own = await x.atFreshMinute(async (t0) => {
        for (let i = 0; i < 12; i++) refused.push(await x.exchange(await x.sign(impostor, victim.taskArn, { signingDate: new Date(t0.getTime() - i * 1000) }), `10.3.3.${i}`));
        return x.exchange(await x.sign(victim.creds, victim.taskArn));
      });

      expect(new Set(refused.map((r) => r.json.reason))).toEqual(new Set(['TASK_ROLE_MISMATCH', 'RATE_LIMITED']));
      expect(own.status).toBe(200);
    });
  });

  describe('ecsClusters bounds the exchange as it bounds task-events', () => {
    it.each([
      { clusters: 'staging', status: 403, reason: 'CLUSTER_NOT_ALLOWED' },
      { clusters: 'staging,prod', status: 200, reason: undefined },
      { clusters: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod', status: 200, reason: undefined },
    ])('answers a task of cluster prod $status when ecsClusters is $clusters', async ({ clusters, status, reason }) => {
      const bounded = await startExchange(p, { ECS_CLUSTERS: clusters });
      const { taskArn, creds } = await runningTask();

      const answer = await bounded.exchange(await bounded.sign(creds, taskArn));

      expect({ status: answer.status, reason: answer.json.reason }).toEqual({ status, reason });
      if (reason) expect(answer.json.message).toBe(`cluster arn:aws:ecs:us-east-1:123456789012:cluster/prod is not in this deployment's ecsClusters`);
    });
  });

  describe('the claimed task ARN must be the described one, field by field', () => {
    const claimed = (taskArn: string, edit: (parts: string[]) => void) => {
      const parts = taskArn.split(':');
      edit(parts);
      return parts.join(':');
    };
    it.each([
      ['another region', (parts: string[]): void => void (parts[3] = 'eu-west-1'), 403, 'TASK_ARN_MISMATCH'],
      ['another partition', (parts: string[]): void => void (parts[1] = 'aws-cn'), 403, 'ACCOUNT_NOT_ALLOWED'],
      // ECS is asked in the claimed cluster, which does not hold the task.
      ['another cluster', (parts: string[]): void => void (parts[5] = parts[5]!.replace('task/prod/', 'task/staging/')), 403, 'TASK_NOT_RUNNING'],
      ['the short form (the default cluster)', (parts: string[]): void => void (parts[5] = parts[5]!.replace('task/prod/', 'task/')), 403, 'TASK_NOT_RUNNING'],
    ] as const)('refuses a task ARN naming %s with the real task id', async (_name, edit, status, reason) => {
      const { taskArn, creds } = await runningTask();
      const forged = claimed(taskArn, edit);

      const res = await x.exchange(await x.sign(creds, forged));

      expect({ status: res.status, reason: res.json.reason }).toEqual({ status, reason });
      expect(res.json).not.toHaveProperty('token');
    });
  });

  describe("requests built by Vault's stock clients (botocore, as hvac and Vault's CLI shape them)", () => {
    const PYTHON = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.venv', 'bin', 'python');
    const VAULT_LOGIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'verifiers', 'vault_login.py');
    const vaultLogin = (creds: AwsCredentials, style: string): Record<string, unknown> =>
      JSON.parse(execFileSync(PYTHON, [VAULT_LOGIN, JSON.stringify({ ...creds, stsUrl: `${localAwsConfig().endpoint}/`, region: 'us-east-1', serverId: AUDIENCE, style })], { encoding: 'utf8' })) as Record<string, unknown>;

    it.each(['hvac', 'go', 'object', 'wrapped', 'lone'])('accepts the %s shape and issues a token', async (style) => {
      const { taskArn, creds } = await runningTask();

      const res = await x.exchange({ ...vaultLogin(creds, style), taskArn });

      expect({ status: res.status, reason: res.json.reason, message: res.json.message }).toEqual({ status: 200, reason: undefined, message: undefined });
      expect(res.json.token).toEqual(expect.any(String));
    });
  });

  it('audits every decision with its reason and never a token', async () => {
    const lines = x.log.lines.filter((l) => l.extra?.audit === 'auth-exchange');

    expect(lines.length).toBeGreaterThan(30);
    expect(new Set(lines.map((l) => l.extra?.reason))).toContain('ISSUED');
    expect(JSON.stringify(lines)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});

