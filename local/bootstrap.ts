/**
 * Creates on the local AWS what serverless.yml creates on AWS: the tables (policy audit included; the enrollment indexes; TTL on the
 * enrollment and auth tables), the queue with its DLQ and redrive, and the EventBridge rule that
 * routes ECS Task State Change events to the queue.
 */
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateHostedZoneCommand, Route53Client, type VPCRegion } from '@aws-sdk/client-route-53';
import { randomUUID } from 'node:crypto';
import { ENROLLMENT_TABLE_INDEXES } from '../shared/adapters/dynamodb-enrollment-store.js';

/** The trust policy of an ECS task role (what ECS needs to assume it), for local roles. */
export const ECS_TASKS_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

export interface LocalStackNames {
  policyTable: string;
  enrollmentTable: string;
  authTable: string;
  policyAuditTable: string;
  queueName: string;
  deadLetterQueueName: string;
  ruleName: string;
}

export interface LocalStack extends LocalStackNames {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

export interface ClientSettings {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Resource names with an optional suffix so tests can share one moto without clashing. */
export function localNames(suffix = ''): LocalStackNames {
  return {
    policyTable: `ecs-mesh-policies${suffix}`,
    enrollmentTable: `ecs-mesh-enrollments${suffix}`,
    authTable: `ecs-mesh-auth${suffix}`,
    policyAuditTable: `ecs-mesh-policy-audit${suffix}`,
    queueName: `ecs-mesh-task-events${suffix}`,
    deadLetterQueueName: `ecs-mesh-task-events-dlq${suffix}`,
    ruleName: `ecs-mesh-task-state-change${suffix}`,
  };
}

/** Creates the resources; returns their names and URLs. */
export async function bootstrapLocalStack(settings: ClientSettings, names: LocalStackNames = localNames()): Promise<LocalStack> {
  const dynamo = new DynamoDBClient(settings);
  const sqs = new SQSClient(settings);
  const events = new EventBridgeClient(settings);

  await createTable(dynamo, names.policyTable, [
    { AttributeName: 'namespace', KeyType: 'HASH' },
    { AttributeName: 'name', KeyType: 'RANGE' },
  ]);
  await createEnrollmentTable(dynamo, names.enrollmentTable);
  await createTable(dynamo, names.authTable, [{ AttributeName: 'key', KeyType: 'HASH' }]);
  await createTable(dynamo, names.policyAuditTable, [
    { AttributeName: 'policy', KeyType: 'HASH' },
    { AttributeName: 'revision', KeyType: 'RANGE', type: 'N' },
  ]);
  for (const table of [names.enrollmentTable, names.authTable])
    await dynamo.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' } }));

  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: names.deadLetterQueueName, Attributes: { MessageRetentionPeriod: '1209600' } }));
  const dlqArn = await queueArn(sqs, dlq.QueueUrl!);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: names.queueName,
      Attributes: { VisibilityTimeout: '30', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
    }),
  );
  await events.send(
    new PutRuleCommand({ Name: names.ruleName, EventPattern: JSON.stringify({ source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] }) }),
  );
  await events.send(new PutTargetsCommand({ Rule: names.ruleName, Targets: [{ Id: 'task-events-queue', Arn: await queueArn(sqs, queue.QueueUrl!) }] }));
  return { ...names, queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

/**
 * The mesh names' private hosted zone (svc.cluster.local) on moto, associated with its default VPC,
 * as an operator creates it for meshNamesZoneId (README, "Put an ECS service in the mesh").
 */
export async function createMeshNamesZone(settings: ClientSettings): Promise<{ zoneId: string; vpcId: string }> {
  const vpcs = await new EC2Client(settings).send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }));
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  if (!vpcId) throw new Error('moto has no default VPC to associate the mesh names zone with');
  const zone = await new Route53Client(settings).send(
    new CreateHostedZoneCommand({ Name: 'svc.cluster.local', CallerReference: `local-${randomUUID()}`, VPC: { VPCId: vpcId, VPCRegion: settings.region as VPCRegion }, HostedZoneConfig: { PrivateZone: true } }),
  );
  return { zoneId: zone.HostedZone!.Id!.replace('/hostedzone/', ''), vpcId };
}

/** The enrollment table with the indexes serverless.yml gives it (shared/adapters/dynamodb-enrollment-store.ts). */
export async function createEnrollmentTable(dynamo: DynamoDBClient, name: string): Promise<void> {
  const keys = new Set(['taskId', ...ENROLLMENT_TABLE_INDEXES.flatMap((i) => i.KeySchema.map((k) => k.AttributeName))]);
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
      AttributeDefinitions: [...keys].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      GlobalSecondaryIndexes: ENROLLMENT_TABLE_INDEXES.map((i) => ({ ...i, KeySchema: [...i.KeySchema], Projection: { ...i.Projection, NonKeyAttributes: [...i.Projection.NonKeyAttributes] } })),
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

async function createTable(dynamo: DynamoDBClient, name: string, keys: (KeySchemaElement & { type?: 'S' | 'N' })[]): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: keys.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
      AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName!, AttributeType: k.type ?? 'S' })),
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return out.Attributes!.QueueArn!;
}
