import { describe, expect, it } from 'vitest';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { settingsIn } from '../support/member-account.js';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, buildExplainDeps, buildTaskReaders, createAwsClients, EVERY_AWS_CLIENT } from '../../shared/adapters/wiring.js';
import { MemoryLog } from '../support/memory-log.js';
import { asFunction } from '../support/aws-call-recorder.js';
import { localAwsConfig } from '../support/local-aws.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { explainDecision, type ExplainDeps } from '../../shared/app/explain-decision.js';
import { toStoredPolicy } from '../../shared/adapters/dynamodb-policy-store.js';
import { ACCOUNT, aGroup, aPolicy } from '../fixtures/builders.js';

const OTHER_ACCOUNT = '222222222222';

async function iamIn(accountId: string): Promise<IAMClient> {
  return new IAMClient(await settingsIn(accountId));
}

/** A running Fargate task in `accountId` (with `taskRoleArn` as its task role): its cluster, task and task definition ARNs. */
async function taskIn(accountId: string, taskRoleArn?: string) {
  const settings = await settingsIn(accountId);
  const ecs = new ECSClient(settings);
  const clusterArn = (await ecs.send(new CreateClusterCommand({ clusterName: 'payments' }))).cluster!.clusterArn!;
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({ family: 'payments', ...(taskRoleArn ? { taskRoleArn } : {}), networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', containerDefinitions: [{ name: 'app', image: 'app', memory: 256 }] }),
  );
  const subnet = (await new EC2Client(settings).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  const run = await ecs.send(
    new RunTaskCommand({ cluster: 'payments', taskDefinition: 'payments', launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-12345678'] } } }),
  );
  return { clusterArn, taskArn: run.tasks![0]!.taskArn!, taskDefinitionArn: definition.taskDefinition!.taskDefinitionArn! };
}

/** The task directory auth wires, its calls recorded for the IAM check as the auth role's. */
const tasksWith = (crossAccountRoleName: string | undefined) => {
  const config = loadConfig('auth', { AWS_ENDPOINT_URL: localAwsConfig().endpoint, ...(crossAccountRoleName ? { CROSS_ACCOUNT_ROLE_NAME: crossAccountRoleName } : {}) });
  const tasks = buildTaskReaders(config, createAwsClients(config, EVERY_AWS_CLIENT)).tasks;
  const scope = { fn: 'auth' as const, params: (crossAccountRoleName ? { CrossAccountRoleName: crossAccountRoleName } : {}) as Record<string, string> };
  return {
    describeTasks: (clusterArn: string, arns: string[]) => asFunction(scope, () => tasks.describeTasks(clusterArn, arns)),
    describeTaskDefinition: (arn: string) => asFunction(scope, () => tasks.describeTaskDefinition(arn)),
  };
};

/** The role directory task-events (or explain) wires, its calls recorded for the IAM check. */
const rolesWith = (crossAccountRoleName: string | undefined, fn: 'taskEvents' | 'explain' = 'taskEvents') => {
  const env = { AWS_ENDPOINT_URL: localAwsConfig().endpoint, ...(crossAccountRoleName ? { CROSS_ACCOUNT_ROLE_NAME: crossAccountRoleName } : {}) };
  const roles = fn === 'explain' ? buildExplainDeps(loadConfig('explain', env), createAwsClients(loadConfig('explain', env), EVERY_AWS_CLIENT)).roles : buildEnrollmentDeps(loadConfig('taskEvents', env), new MemoryLog(), createAwsClients(loadConfig('taskEvents', env), EVERY_AWS_CLIENT)).roles;
  const scope = { fn, params: (crossAccountRoleName ? { CrossAccountRoleName: crossAccountRoleName } : {}) as Record<string, string> };
  return { getRole: (arn: string) => asFunction(scope, () => roles.getRole(arn)) };
};

describe('task roles in other accounts', () => {
  it("reads a role's tags in its own account through the cross-account role, as explain does too", async () => {
    const other = await iamIn(OTHER_ACCOUNT);
    await other.send(new CreateRoleCommand({ RoleName: 'ecs-mesh-reader', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY }));
    const created = await other.send(new CreateRoleCommand({ RoleName: 'payments-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'payments' }] }));

    const role = await rolesWith('ecs-mesh-reader').getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/payments-task`);
    const asExplain = await rolesWith('ecs-mesh-reader', 'explain').getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/payments-task`);

    expect(role).toMatchObject({ accountId: OTHER_ACCOUNT, name: 'payments-task', roleId: created.Role!.RoleId, tags: { team: 'payments' } });
    expect(asExplain).toEqual(role);
  });

  it('never lends a same-named role of its own account to a role of another account', async () => {
    await new IAMClient(localAwsConfig()).send(new CreateRoleCommand({ RoleName: 'payments-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'payments' }] }));

    const role = await rolesWith(undefined).getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/payments-task`);

    expect(role).toBeUndefined();
  });

  it('reads a role of its own account with its own credentials even when a cross-account role is set', async () => {
    await new IAMClient(localAwsConfig()).send(new CreateRoleCommand({ RoleName: 'local-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'local' }] }));

    const role = await rolesWith('ecs-mesh-reader').getRole('arn:aws:iam::123456789012:role/local-task');

    expect(role).toMatchObject({ accountId: '123456789012', tags: { team: 'local' } });
  });

  it('reads a task and its definition in their own account through the cross-account role', async () => {
    const { clusterArn, taskArn, taskDefinitionArn } = await taskIn(OTHER_ACCOUNT);
    const tasks = tasksWith('ecs-mesh-reader');

    const found = await tasks.describeTasks(clusterArn, [taskArn]);
    const definition = await tasks.describeTaskDefinition(taskDefinitionArn);

    expect([...found.values()]).toEqual([expect.objectContaining({ taskArn, clusterArn })]);
    expect(definition).toMatchObject({ taskDefinitionArn, networkMode: 'awsvpc' });
  });

  it("reads a member's task (as the exchange does) and role (as explain does) through the role named for that member, not the default one", async () => {
    const memberRoleNames = `${OTHER_ACCOUNT}=payments-reader`;
    const env = { AWS_ENDPOINT_URL: localAwsConfig().endpoint, CROSS_ACCOUNT_ROLE_NAME: 'ecs-mesh-reader', MEMBER_ROLE_NAMES: memberRoleNames };
    const params = { CrossAccountRoleName: 'ecs-mesh-reader', MemberRoleNames: memberRoleNames };
    const assumed: string[] = [];
    const readersFor = (fn: 'auth' | 'explain') => {
      const config = loadConfig(fn, env);
      const clients = createAwsClients(config, EVERY_AWS_CLIENT);
      clients.sts.middlewareStack.add((next, context) => async (args) => (context.commandName === 'AssumeRoleCommand' && assumed.push((args.input as { RoleArn: string }).RoleArn), next(args)), { step: 'initialize' });
      return buildTaskReaders(config, clients);
    };
    const { clusterArn, taskArn } = await taskIn(OTHER_ACCOUNT);
    await (await iamIn(OTHER_ACCOUNT)).send(new CreateRoleCommand({ RoleName: 'audit-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'audit' }] }));

    const found = await asFunction({ fn: 'auth', params }, () => readersFor('auth').tasks.describeTasks(clusterArn, [taskArn]));
    const role = await asFunction({ fn: 'explain', params }, () => readersFor('explain').roles.getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/audit-task`));

    expect([...found.values()]).toEqual([expect.objectContaining({ taskArn })]);
    expect(role).toMatchObject({ accountId: OTHER_ACCOUNT, tags: { team: 'audit' } });
    expect(assumed).toEqual([`arn:aws:iam::${OTHER_ACCOUNT}:role/payments-reader`, `arn:aws:iam::${OTHER_ACCOUNT}:role/payments-reader`]);
  });

  it("cannot see another account's task without the cross-account role", async () => {
    const { clusterArn, taskArn } = await taskIn(OTHER_ACCOUNT);

    // Not recorded for the IAM check: that AWS would deny this call (our role reads our account
    // only) is the point; moto, which enforces no IAM, shows the task invisible instead.
    const config = loadConfig('auth', { AWS_ENDPOINT_URL: localAwsConfig().endpoint });
    const found = await buildTaskReaders(config, createAwsClients(config, EVERY_AWS_CLIENT)).tasks.describeTasks(clusterArn, [taskArn]);

    expect(found.size).toBe(0);
  });

  it("refuses a task whose definition names another account's role, never judging it by that role's tags", async () => {
    const other = await iamIn(OTHER_ACCOUNT);
    const foreign = await other.send(new CreateRoleCommand({ RoleName: 'ledger-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'ledger' }, { Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ledger' }] }));
    const { taskArn } = await taskIn(ACCOUNT, foreign.Role!.Arn!);
    // Everything else would let it in: a policy for both accounts and that role's tag, and the group.
    const allowLedger = aPolicy({ name: 'allow-ledger', allow: [{ workloads: [{ aws: { accounts: [ACCOUNT, OTHER_ACCOUNT], ecs: { iamRoleTags: { team: ['ledger'] } } } }], onboardTo: [{ workloadGroupSelector: {} }] }] });
    const roles = rolesWith('ecs-mesh-reader', 'explain');
    const rolesRead: string[] = [];
    const deps: ExplainDeps = {
      tasks: tasksWith('ecs-mesh-reader'),
      roles: { getRole: (arn) => (rolesRead.push(arn), roles.getRole(arn)) },
      policies: { listPolicies: async () => [toStoredPolicy({ namespace: 'bookinfo', name: 'allow-ledger', revision: 1, document: JSON.stringify(allowLedger) })] },
      mesh: { getWorkloadGroup: async (ref) => aGroup({ namespace: ref.namespace, name: ref.name }) },
    };

    const explained = await explainDecision({ subject: { taskArn, clusterName: 'payments' } }, deps);

    expect(explained).toMatchObject({ allowed: false, reason: 'TASK_ROLE_OTHER_ACCOUNT', detail: expect.stringContaining(OTHER_ACCOUNT) });
    expect(rolesRead).toEqual([]);
  });
});
