/**
 * `npm run local` as a process, set up so that it mints service tokens: an allow-all
 * OnboardingPolicy in bookinfo, the given WorkloadGroups (file mesh), and one Fargate task run
 * with RunTask for each group named, its role tagged with the group, so task-events enrolls it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { startLocalProcess, until, type LocalProcess } from './local-process.js';

/** A WorkloadGroup of namespace bookinfo, labelled app: <name>. */
export interface BookinfoGroup {
  name: string;
  serviceAccount: string;
  /** The `ecsmesh.io/token-profile` annotation; istio where not given. */
  tokenProfile?: 'istio' | 'kuma';
  /** Labels of the group's template (e.g. `kuma.io/workload`). */
  templateLabels?: Record<string, string>;
}

/** The groups as the file mesh's YAML: one document each. */
export function workloadGroupsYaml(groups: readonly BookinfoGroup[]): string {
  return groups
    .map(({ name, serviceAccount, tokenProfile, templateLabels }) =>
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadGroup',
        metadata: { name, namespace: 'bookinfo', labels: { app: name }, ...(tokenProfile ? { annotations: { 'ecsmesh.io/token-profile': tokenProfile } } : {}) },
        spec: { template: { serviceAccount, ...(templateLabels ? { labels: templateLabels } : {}) } },
      }),
    )
    .join('---\n');
}

export interface MintingStack {
  local: LocalProcess;
  issuer: string;
  aws: LocalProcess['aws'];
  /** One of the stack's secrets, parsed. */
  secretJson(id: string): Promise<Record<string, unknown>>;
  /** The group's service token secret (`ecs-mesh/bookinfo/<group>`), waited for until task-events has written it. */
  tokenSecret(group: string): Promise<Record<string, unknown>>;
  /** Stops the process and removes its mesh directory. */
  close(): Promise<void>;
}

/** Starts the stack with `groups` as its WorkloadGroups and runs a task of each group named in `run`. */
export async function startMintingStack(groups: readonly BookinfoGroup[], run: readonly string[], settings: Record<string, string> | ((port: number) => Record<string, string>) = {}): Promise<MintingStack> {
  const meshDir = mkdtempSync(join(tmpdir(), 'verify-mesh-'));
  mkdirSync(join(meshDir, 'workloadgroups'));
  writeFileSync(join(meshDir, 'workloadgroups', 'groups.yaml'), workloadGroupsYaml(groups));
  const local = await startLocalProcess((port) => ({ MESH_FILE_DIR: meshDir, LOG_LEVEL: 'DEBUG', ...(typeof settings === 'function' ? settings(port) : settings) }));
  const aws = local.aws;
  const iam = new IAMClient(aws);
  const ecs = new ECSClient(aws);
  const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-all', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] } };
  await new DynamoDBClient(aws).send(new PutItemCommand({ TableName: 'ecs-mesh-policies', Item: { namespace: { S: 'bookinfo' }, name: { S: 'allow-all' }, revision: { N: '1' }, document: { S: JSON.stringify(policy) } } }));
  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  for (const group of run) {
    const role = await iam.send(new CreateRoleCommand({ RoleName: `${group}-task`, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: `bookinfo/${group}` }] }));
    const def = await ecs.send(new RegisterTaskDefinitionCommand({ family: group, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
    await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: def.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  }
  const secrets = new SecretsManagerClient(aws);
  const secretJson = async (id: string) => JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: id }))).SecretString!) as Record<string, unknown>;
  return {
    local,
    issuer: local.issuer,
    aws,
    secretJson,
    tokenSecret: (group) => until(`the ${group} token secret`, () => secretJson(`ecs-mesh/bookinfo/${group}`), 30, () => local.output()),
    async close() {
      await local.stop();
      rmSync(meshDir, { recursive: true, force: true });
    },
  };
}
