// The exchange for a member account's task: served through the cross-account role, and refused as
// a deployment without one (not an AccessDenied 500) when the account is allowed but no role is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { aPolicy } from '../fixtures/builders.js';
import { createHash, randomUUID } from 'node:crypto';
import { buildExchangeDeps } from '../../shared/adapters/wiring.js';
import { loadConfig } from '../../shared/config.js';
import { startExchange, type ExchangeHarness } from '../support/exchange-harness.js';
import { MemoryLog } from '../support/memory-log.js';
import { localAwsConfig } from '../support/local-aws.js';
import { Pipeline } from '../support/pipeline.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';

const OWN_ACCOUNT = '123456789012';
const MEMBER = '222222222222';
const READER = 'ecs-mesh-reader';
const TASK_ROLE = `arn:aws:iam::${MEMBER}:role/ratings-task`;

let p: Pipeline;
const taskId = (arn: string) => arn.split('/').pop()!;

/** Client settings inside the member account (moto scopes AssumeRole credentials to the role's account). */
async function memberSettings() {
  const out = await new STSClient(localAwsConfig()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${MEMBER}:role/admin`, RoleSessionName: 'setup' }));
  const c = out.Credentials!;
  return { ...localAwsConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } };
}

/** A running task of the ratings service in the member account, with its role's tags. */
async function memberTask(): Promise<string> {
  const settings = await memberSettings();
  const ecs = new ECSClient(settings);
  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({ family: 'ratings', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: TASK_ROLE, containerDefinitions: [{ name: 'app', image: 'app', memory: 256 }] }),
  );
  const subnet = (await new EC2Client(settings).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  const run = await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: 'ratings', launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-12345678'] } } }));
  return run.tasks![0]!.taskArn!;
}

/** The exchange's DescribeTasks calls, by cluster ARN, as it makes them. */
function watchDescribes(x: ExchangeHarness): string[] {
  const clusters: string[] = [];
  const tasks = x.deps.tasks;
  x.deps.tasks = { describeTasks: (cluster, arns) => (clusters.push(cluster), tasks.describeTasks(cluster, arns)), describeTaskDefinition: (arn) => tasks.describeTaskDefinition(arn) };
  return clusters;
}

beforeAll(async () => {
  p = await Pipeline.start('-auth-accounts');
  const iam = new IAMClient(await memberSettings());
  await iam.send(new CreateRoleCommand({ RoleName: READER, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY }));
  await iam.send(
    new CreateRoleCommand({ RoleName: 'ratings-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'ratings' }, { Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ratings' }] }),
  );
  const allow = aPolicy().spec.allow.map((rule) => ({ ...rule, workloads: rule.workloads.map((w) => ({ aws: { ...w.aws, accounts: [OWN_ACCOUNT, MEMBER] } })) }));
  await p.putPolicy(aPolicy({ allow }));
  p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: { serviceAccount: 'bookinfo-ratings' } } });
});

afterAll(() => p.stop());

describe("the auth exchange for a member account's task", () => {
  it('is refused with the reason, before any read there, when the account is allowed but no cross-account role is set', async () => {
    const x = await startExchange(p, { AUTH_ALLOWED_ACCOUNTS: `${OWN_ACCOUNT},${MEMBER}` });
    const describes = watchDescribes(x);
    const taskArn = await memberTask();

    const res = await x.exchange(await x.sign(await x.assumeTaskRole(TASK_ROLE, taskId(taskArn)), taskArn));

    expect(res).toMatchObject({ status: 403, json: { reason: 'ACCOUNT_NOT_ALLOWED', message: expect.stringContaining('set crossAccountRoleName') } });
    expect(describes).toEqual([]);
    expect(x.log.lines).toContainEqual(expect.objectContaining({ level: 'warn', extra: expect.objectContaining({ unreadableAccounts: [MEMBER], ownAccount: OWN_ACCOUNT }) }));
  });

  it('is served through the cross-account role once it is set', async () => {
    const x = await startExchange(p, { AUTH_ALLOWED_ACCOUNTS: `${OWN_ACCOUNT},${MEMBER}`, CROSS_ACCOUNT_ROLE_NAME: READER });
    const describes = watchDescribes(x);
    const taskArn = await memberTask();

    const res = await x.exchange(await x.sign(await x.assumeTaskRole(TASK_ROLE, taskId(taskArn)), taskArn));

    expect(res).toMatchObject({ status: 200, json: { workloadGroup: 'bookinfo/ratings' } });
    expect(describes).toEqual([`arn:aws:ecs:us-east-1:${MEMBER}:cluster/prod`]);
    expect(x.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it("is served through the member's own reader role name, and refuses an allowed account that has none", async () => {
    const unnamed = '333333333333';
    // The exchange's calls are checked against the auth role as the stack grants it with this param.
    p.stackParams = { MemberRoleNames: `${MEMBER}=${READER}` };
    const x = await startExchange(p, { AUTH_ALLOWED_ACCOUNTS: `${OWN_ACCOUNT},${MEMBER},${unnamed}`, MEMBER_ROLE_NAMES: `${MEMBER}=${READER}` });
    const taskArn = await memberTask();

    const res = await x.exchange(await x.sign(await x.assumeTaskRole(TASK_ROLE, taskId(taskArn)), taskArn));
    p.stackParams = {};

    expect(res).toMatchObject({ status: 200, json: { workloadGroup: 'bookinfo/ratings' } });
    expect(x.log.lines).toContainEqual(expect.objectContaining({ level: 'warn', extra: expect.objectContaining({ unreadableAccounts: [unnamed], ownAccount: OWN_ACCOUNT }) }));
  });

  it('starts, refusing no account as unreadable, when STS cannot say which account is its own', async () => {
    const config = loadConfig('auth', { AWS_ENDPOINT_URL: localAwsConfig().endpoint, AUTH_ALLOWED_ACCOUNTS: `${OWN_ACCOUNT},${MEMBER}` });
    const log = new MemoryLog();
    // Nothing listens on port 9: the cold-start lookup fails at once.
    const sts = new STSClient({ ...localAwsConfig(), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });

    const deps = await buildExchangeDeps(config, log, { ...p.clients, sts }, { digest: (s) => createHash('sha256').update(s).digest('hex'), newTokenId: randomUUID });

    expect(deps.settings).toMatchObject({ allowedAccounts: [OWN_ACCOUNT, MEMBER], unreadableAccounts: [] });
    expect(log.lines).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('could not learn this account') })]);
  });

  it('takes its own account from OWN_ACCOUNT_ID (the template\'s AWS::AccountId) with no STS call at cold start', async () => {
    const config = loadConfig('auth', { AWS_ENDPOINT_URL: localAwsConfig().endpoint, AUTH_ALLOWED_ACCOUNTS: `${OWN_ACCOUNT},${MEMBER}`, OWN_ACCOUNT_ID: OWN_ACCOUNT });
    const log = new MemoryLog();
    // An STS nobody answers: a call would fail and be logged.
    const sts = new STSClient({ ...localAwsConfig(), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });

    const deps = await buildExchangeDeps(config, log, { ...p.clients, sts }, { digest: (s) => createHash('sha256').update(s).digest('hex'), newTokenId: randomUUID });

    expect(deps.settings).toMatchObject({ allowedAccounts: [OWN_ACCOUNT, MEMBER], unreadableAccounts: [MEMBER] });
    expect(log.lines).toEqual([expect.objectContaining({ level: 'warn', extra: expect.objectContaining({ unreadableAccounts: [MEMBER], ownAccount: OWN_ACCOUNT }) })]);
  });
});
