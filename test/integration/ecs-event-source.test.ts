import { Sha256 } from '@aws-crypto/sha256-js';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseTaskStateChange, type TaskStateChangeEvent } from '../../functions/task-events/task-state-change.js';
import { EcsEventSource, type TaskStateChangeEnvelope } from '../../local/ecs-event-source.js';
import { localAwsConfig } from '../support/local-aws.js';

let ecs: ECSClient;
let eventBridge: EventBridgeClient;
let sqs: SQSClient;
let queueUrl: string;
let network: { subnets: string[]; securityGroups: string[] };
const sources: EcsEventSource[] = [];

beforeAll(async () => {
  const config = localAwsConfig();
  ecs = new ECSClient(config);
  eventBridge = new EventBridgeClient(config);
  sqs = new SQSClient(config);
  network = await defaultNetwork();

  const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'ecs-event-source-events' }));
  queueUrl = queue.QueueUrl ?? '';
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  await eventBridge.send(
    new PutRuleCommand({ Name: 'ecs-event-source-tasks', EventPattern: JSON.stringify({ source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] }) }),
  );
  await eventBridge.send(new PutTargetsCommand({ Rule: 'ecs-event-source-tasks', Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }));
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.stop()));
});

describe('Class: EcsEventSource', () => {
  it('reports a Fargate task from PROVISIONING to STOPPED, each change once', async () => {
    const cluster = 'prod';
    const [task] = await runTasks(cluster, 'checkout', 1);
    const source = newSource([cluster]);

    const started = await source.pollOnce();
    const startEvents = await receive(3);

    expect(started).toBe(3);
    expect(startEvents.map(statusOf)).toEqual([
      { version: 1, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' },
      { version: 2, lastStatus: 'PENDING', desiredStatus: 'RUNNING' },
      { version: 3, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' },
    ]);
    for (const event of startEvents) {
      expect(event).toMatchObject({
        account: '123456789012',
        region: 'us-east-1',
        taskArn: task?.taskArn,
        clusterName: cluster,
        launchType: 'FARGATE',
        privateIpv4: privateIpv4Of(task),
        overrideTaskRoleArn: 'arn:aws:iam::123456789012:role/checkout',
      });
    }

    await ecs.send(new StopTaskCommand({ cluster, task: task?.taskArn, reason: 'Scaled down by test' }));
    const stopped = await source.pollOnce();
    const stopEvents = await receive(2);

    expect(stopped).toBe(2);
    expect(stopEvents.map(statusOf)).toEqual([
      { version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' },
      { version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' },
    ]);
    expect(stopEvents[1]).toMatchObject({ stoppedReason: 'Scaled down by test', privateIpv4: privateIpv4Of(task) });

    expect(await source.pollOnce()).toBe(0);
    expect(await receive(0)).toEqual([]);
  });

  it('publishes the documented detail fields, and tells onEvent what it sent', async () => {
    const cluster = 'detail-fields';
    await runTasks(cluster, 'detail-fields', 1);
    const seen: TaskStateChangeEnvelope[] = [];
    const source = newSource([cluster], (envelope) => seen.push(envelope));

    await source.pollOnce();
    const bodies = await receiveBodies(3);

    const running = bodies.map((body) => JSON.parse(body) as TaskStateChangeEnvelope).find((e) => e.detail.version === 3);
    expect(running?.detail).toMatchObject({
      lastStatus: 'RUNNING',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      attachments: [expect.objectContaining({ type: 'ElasticNetworkInterface', status: 'ATTACHED' })],
      containers: [expect.objectContaining({ name: 'app', lastStatus: 'RUNNING', taskArn: running?.detail.taskArn })],
    });
    expect(seen.map((e) => e.id).sort()).toEqual(bodies.map((b) => (JSON.parse(b) as { id: string }).id).sort());
  });

  it('spreads many tasks over PutEvents batches and reports a task first seen stopped only as STOPPED', async () => {
    const cluster = 'batch';
    const tasks = await runTasks(cluster, 'batch', 4);
    const [gone] = await runTasks(cluster, 'batch', 1);
    await ecs.send(new StopTaskCommand({ cluster, task: gone?.taskArn, reason: 'Essential container exited' }));
    const source = newSource([cluster]);

    const published = await source.pollOnce();
    const events = await receive(13);

    expect(published).toBe(13);
    for (const task of tasks) {
      expect(events.filter((e) => e.taskArn === task.taskArn).map((e) => e.version).sort()).toEqual([1, 2, 3]);
    }
    expect(events.filter((e) => e.taskArn === gone?.taskArn).map(statusOf)).toEqual([
      { version: 1, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' },
    ]);
  });

  it('polls in the background between start and stop', async () => {
    const cluster = 'background';
    const [task] = await runTasks(cluster, 'background', 1);
    const seen: TaskStateChangeEnvelope[] = [];
    const source = new EcsEventSource({ ecs, eventBridge, clusters: [cluster], pollIntervalMs: 50, onEvent: (e) => seen.push(e) });

    source.start();
    await vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 5_000 });
    await ecs.send(new StopTaskCommand({ cluster, task: task?.taskArn }));
    await vi.waitFor(() => expect(seen).toHaveLength(5), { timeout: 5_000 });
    await source.stop();
    await receive(5);

    expect(seen.map((e) => [e.detail.version, e.detail.lastStatus, e.detail.desiredStatus])).toEqual([
      [1, 'PROVISIONING', 'RUNNING'],
      [2, 'PENDING', 'RUNNING'],
      [3, 'RUNNING', 'RUNNING'],
      [4, 'RUNNING', 'STOPPED'],
      [5, 'STOPPED', 'STOPPED'],
    ]);
    expect(seen.every((e) => e.account === '123456789012' && e.region === 'us-east-1')).toBe(true);
  });

  it('lists every cluster when none is configured', async () => {
    const [task] = await runTasks('listed', 'listed', 1);
    const source = newSource(undefined);

    const published = await source.pollOnce();
    const events = await receive(published);

    expect(events.filter((e) => e.taskArn === task?.taskArn).map(statusOf)).toEqual([
      { version: 1, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' },
      { version: 2, lastStatus: 'PENDING', desiredStatus: 'RUNNING' },
      { version: 3, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' },
    ]);
  });
});

function newSource(clusters: string[] | undefined, onEvent?: (envelope: TaskStateChangeEnvelope) => void): EcsEventSource {
  const source = new EcsEventSource({ ecs, eventBridge, ...(clusters && { clusters }), ...(onEvent && { onEvent }) });
  sources.push(source);
  return source;
}

async function runTasks(cluster: string, family: string, count: number): Promise<Task[]> {
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      // moto sums the containers' cpu and memory to place a task, so both must be set.
      containerDefinitions: [{ name: 'app', image: 'nginx', cpu: 256, memory: 512, portMappings: [{ containerPort: 8080 }] }],
    }),
  );
  const { tasks = [] } = await ecs.send(
    new RunTaskCommand({
      cluster,
      taskDefinition: family,
      count,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { ...network, assignPublicIp: 'DISABLED' } },
      overrides: { taskRoleArn: `arn:aws:iam::123456789012:role/${family}` },
    }),
  );
  return tasks;
}

/** Receives exactly `count` messages (waiting up to 10 s), deletes them, and returns their bodies. */
async function receiveBodies(count: number): Promise<string[]> {
  const bodies: string[] = [];
  const deadline = Date.now() + (count === 0 ? 1_500 : 10_000);
  while (Date.now() < deadline && (count === 0 || bodies.length < count)) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    if (Messages.length === 0) continue;
    bodies.push(...Messages.map((m) => m.Body ?? ''));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
  }
  expect(bodies).toHaveLength(count);
  return bodies;
}

/** Receives `count` events and parses them as the task-events function would, ordered by version. */
async function receive(count: number): Promise<TaskStateChangeEvent[]> {
  const events = (await receiveBodies(count)).map((body) => {
    const result = parseTaskStateChange(body);
    if (!result.ok) throw new Error(`unparseable event: ${result.detail}`);
    return result.value;
  });
  return events.sort((a, b) => a.version - b.version);
}

function statusOf(event: TaskStateChangeEvent): Pick<TaskStateChangeEvent, 'version' | 'lastStatus' | 'desiredStatus'> {
  return { version: event.version, lastStatus: event.lastStatus, desiredStatus: event.desiredStatus };
}

function privateIpv4Of(task: Task | undefined): string | undefined {
  return task?.attachments?.flatMap((a) => a.details ?? []).find((d) => d.name === 'privateIPv4Address')?.value;
}

/**
 * moto's awsvpc RunTask needs a real subnet and security group. moto creates a default VPC with
 * subnets; `@aws-sdk/client-ec2` is not a dependency, so ask EC2's query API for them directly.
 */
async function defaultNetwork(): Promise<{ subnets: string[]; securityGroups: string[] }> {
  const subnet = /<subnetId>(subnet-[0-9a-f]+)<\/subnetId>/.exec(await ec2Query('DescribeSubnets'))?.[1];
  const group = /<groupId>(sg-[0-9a-f]+)<\/groupId>/.exec(await ec2Query('DescribeSecurityGroups'))?.[1];
  if (!subnet || !group) throw new Error('moto has no default subnet or security group');
  return { subnets: [subnet], securityGroups: [group] };
}

async function ec2Query(action: string): Promise<string> {
  const { endpoint, region, credentials } = localAwsConfig();
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Action: action, Version: '2016-11-15' }).toString();
  const signer = new SignatureV4({ service: 'ec2', region, credentials, sha256: Sha256 });
  const request = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    }),
  );
  const response = await fetch(endpoint, { method: 'POST', headers: request.headers, body });
  if (!response.ok) throw new Error(`EC2 ${action} answered ${response.status}`);
  return response.text();
}
