/**
 * A hub's member account on the local AWS (docs/architecture.md#local-aws): moto serves every
 * account, and credentials from AssumeRole into a role of another account act in that account.
 */
import { EC2Client, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { settingsInAccount } from '../../local/member-event-forwarding.js';
import { localAwsConfig } from './local-aws.js';

/** Client settings with credentials inside `accountId` (moto scopes AssumeRole credentials to the role's account). */
export const settingsIn = (accountId: string) => settingsInAccount(localAwsConfig(), accountId);

/** One member account: its ECS (as an admin there), a cluster, and task roles and tasks in it. */
export class MemberAccount {
  private constructor(
    readonly accountId: string,
    readonly settings: Awaited<ReturnType<typeof settingsIn>>,
    readonly ecs: ECSClient,
    readonly iam: IAMClient,
    private readonly subnetId: string,
  ) {}

  static async open(accountId: string): Promise<MemberAccount> {
    const settings = await settingsIn(accountId);
    const subnet = (await new EC2Client(settings).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
    return new MemberAccount(accountId, settings, new ECSClient(settings), new IAMClient(settings), subnet);
  }

  async createRole(name: string, tags: Record<string, string> = {}): Promise<string> {
    const out = await this.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    return out.Role!.Arn!;
  }

  async createCluster(name: string): Promise<string> {
    return (await this.ecs.send(new CreateClusterCommand({ clusterName: name }))).cluster!.clusterArn!;
  }

  async registerTaskDefinition(family: string, taskRoleArn: string): Promise<string> {
    const out = await this.ecs.send(
      new RegisterTaskDefinitionCommand({ family, taskRoleArn, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', containerDefinitions: [{ name: 'app', image: 'app', memory: 256 }] }),
    );
    return out.taskDefinition!.taskDefinitionArn!;
  }

  async runTask(cluster: string, taskDefinition: string): Promise<string> {
    const run = await this.ecs.send(
      new RunTaskCommand({ cluster, taskDefinition, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [this.subnetId], securityGroups: ['sg-12345678'] } } }),
    );
    return run.tasks![0]!.taskArn!;
  }

  async stopTask(cluster: string, taskArn: string): Promise<void> {
    await this.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: 'Scaling activity initiated by test' }));
  }
}
