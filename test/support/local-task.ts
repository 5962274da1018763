/** A running awsvpc task on the local AWS, in a group the mesh knows: what the CLI tests explain and list. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import type { LocalProcess } from './local-process.js';

/** The WorkloadGroup bookinfo/ratings (label app: ratings), as the file mesh adapter reads it. */
export function writeRatingsGroup(meshDir: string): void {
  mkdirSync(join(meshDir, 'workloadgroups'), { recursive: true });
  writeFileSync(join(meshDir, 'workloadgroups', 'ratings.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: { name: ratings, namespace: bookinfo, uid: u-1, labels: { app: ratings } }\nspec: { template: { serviceAccount: bookinfo-ratings } }\n');
}

/** Runs a Fargate task of cluster `demo` with role `ratings-task` (team=ratings), tagged for bookinfo/ratings. */
export async function runRatingsTask(aws: LocalProcess['aws']): Promise<{ taskArn: string; taskId: string }> {
  const role = await new IAMClient(aws).send(new CreateRoleCommand({ RoleName: 'ratings-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ratings' }, { Key: 'team', Value: 'ratings' }] }));
  const ecs = new ECSClient(aws);
  await ecs.send(new CreateClusterCommand({ clusterName: 'demo' }));
  const def = await ecs.send(new RegisterTaskDefinitionCommand({ family: 'ratings', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
  const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  const run = await ecs.send(new RunTaskCommand({ cluster: 'demo', taskDefinition: def.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  const taskArn = run.tasks![0]!.taskArn!;
  return { taskArn, taskId: taskArn.split('/').pop()! };
}
