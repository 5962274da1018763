import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import {
  MAX_EVENT_BYTES,
  parseTaskStateChange,
  type TaskStateChangeEvent,
} from '../../functions/task-events/task-state-change.js';
import { aTaskStateChange, loadEvent, loadTaskEvent } from '../fixtures/ecs-events.js';

const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/prod/3f8b2c1d9e4a4b7c8d6e5f4a3b2c1d0e';
const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';

const json = (value: unknown): string => JSON.stringify(value);

function withoutDetailField(field: string): string {
  const event = aTaskStateChange();
  delete event.detail[field];
  return json(event);
}

function sqsBody(name: 'sqs-batch-running' | 'sqs-batch-malformed', index: number): string {
  const record = loadEvent<SQSEvent>(name).Records[index];
  if (!record) throw new Error(`${name} has no record ${index}`);
  return record.body;
}

describe('Function: parseTaskStateChange', () => {
  it.each<{ case: string; body: string; expected: Partial<TaskStateChangeEvent>; absent?: (keyof TaskStateChangeEvent)[] }>([
    {
      case: 'Fargate task with a long ARN',
      body: json(loadTaskEvent('task-running-fargate')),
      expected: {
        eventId: 'a1f0c8e2-4b3d-4e5f-8a7b-0c1d2e3f4a53',
        account: '123456789012',
        region: 'us-east-1',
        time: '2026-03-02T10:15:31Z',
        taskArn: TASK_ARN,
        taskId: '3f8b2c1d9e4a4b7c8d6e5f4a3b2c1d0e',
        clusterArn: CLUSTER_ARN,
        clusterName: 'prod',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7',
        version: 3,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        launchType: 'FARGATE',
        availabilityZone: 'us-east-1a',
        privateIpv4: '10.0.1.23',
      },
    },
    {
      case: 'EC2 awsvpc task with a short ARN and a task role override',
      body: json(loadTaskEvent('task-running-ec2-awsvpc')),
      expected: {
        taskId: '5c0e9a8b7d6f4e3a2b1c0d9e8f7a6b5c',
        clusterName: 'prod',
        launchType: 'EC2',
        privateIpv4: '10.0.2.57',
        overrideTaskRoleArn: 'arn:aws:iam::123456789012:role/payments-canary',
      },
    },
    {
      case: 'EXTERNAL launch type',
      body: json(aTaskStateChange({ launchType: 'EXTERNAL' })),
      expected: { launchType: 'EXTERNAL' },
    },
    {
      case: 'launch type absent (capacity provider only)',
      body: json(aTaskStateChange({ launchType: null })),
      expected: { launchType: 'UNKNOWN' },
    },
    {
      case: 'launch type ECS does not document',
      body: json(aTaskStateChange({ launchType: 'MANAGED_INSTANCES' })),
      expected: { launchType: 'UNKNOWN' },
    },
    {
      case: 'unknown extra fields at every level',
      body: json({
        ...aTaskStateChange(),
        'ingestion-time': '2026-03-02T10:15:31.204Z',
        detail: { ...aTaskStateChange().detail, fargateEphemeralStorage: { sizeInGiB: 20 }, newField: [1, 2] },
      }),
      expected: { taskId: '3f8b2c1d9e4a4b7c8d6e5f4a3b2c1d0e', privateIpv4: '10.0.1.23' },
    },
    {
      case: 'bridge task without attachments',
      body: json(loadTaskEvent('task-running-ec2-bridge')),
      expected: { taskId: '7e6d5c4b3a2f4e1d8c9b0a1f2e3d4c5b', launchType: 'EC2' },
      absent: ['privateIpv4', 'overrideTaskRoleArn'],
    },
    {
      case: 'account left out of the envelope (moto delivery): taken from the task ARN',
      body: json({ ...aTaskStateChange(), account: undefined }),
      expected: { account: '123456789012' },
    },
    {
      case: 'stopped task with its reason',
      body: json(loadTaskEvent('task-stopped-fargate')),
      expected: { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', version: 5, stoppedReason: expect.stringContaining('Scaling activity') },
    },
    {
      case: 'body of an SQS record delivered by EventBridge',
      body: sqsBody('sqs-batch-running', 0),
      expected: { taskArn: TASK_ARN, version: 3 },
    },
  ])('accepts $case', ({ body, expected, absent = [] }) => {
    const result = parseTaskStateChange(body);

    expect(result).toEqual({ ok: true, value: expect.objectContaining(expected) });
    for (const key of absent) expect(result.ok && result.value).not.toHaveProperty(key);
  });

  it.each([
    { name: 'task-provisioning-fargate', version: 1, lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING' },
    { name: 'task-pending-fargate', version: 2, lastStatus: 'PENDING', desiredStatus: 'RUNNING' },
    { name: 'task-running-fargate', version: 3, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' },
    { name: 'task-desired-stopped-fargate', version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' },
    { name: 'task-stopped-fargate', version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' },
  ] as const)('reads lifecycle sample $name as version $version', ({ name, ...expected }) => {
    const result = parseTaskStateChange(json(loadTaskEvent(name)));

    expect(result).toEqual({ ok: true, value: expect.objectContaining({ ...expected, taskArn: TASK_ARN, privateIpv4: '10.0.1.23' }) });
  });

  it.each<{ case: string; body: string; path?: string }>([
    { case: 'not JSON', body: 'hello' },
    { case: 'empty body', body: '' },
    { case: 'truncated JSON (sqs-batch-malformed record 2)', body: sqsBody('sqs-batch-malformed', 1) },
    { case: 'JSON array', body: json([aTaskStateChange()]) },
    { case: 'JSON null', body: 'null' },
    { case: 'wrong source', body: json({ ...aTaskStateChange(), source: 'my.app' }), path: 'source' },
    { case: 'wrong detail-type', body: json({ ...aTaskStateChange(), 'detail-type': 'ECS Container Instance State Change' }), path: 'detail-type' },
    { case: 'detail missing', body: json({ ...aTaskStateChange(), detail: undefined }), path: 'detail' },
    { case: 'taskArn missing', body: withoutDetailField('taskArn'), path: 'detail.taskArn' },
    { case: 'taskArn not an ECS task ARN', body: json(aTaskStateChange({ taskArn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/checkout' })), path: 'detail.taskArn' },
    { case: 'taskArn with a path-traversing id', body: json(aTaskStateChange({ taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/..' })), path: 'detail.taskArn' },
    { case: 'clusterArn not a cluster ARN', body: json(aTaskStateChange({ clusterArn: 'arn:aws:iam::123456789012:role/prod' })), path: 'detail.clusterArn' },
    { case: 'version not a number', body: json({ ...aTaskStateChange(), detail: { ...aTaskStateChange().detail, version: '3' } }), path: 'detail.version' },
    { case: 'version negative', body: json(aTaskStateChange({ version: -1 })), path: 'detail.version' },
    { case: 'version fractional', body: json(aTaskStateChange({ version: 2.5 })), path: 'detail.version' },
    { case: 'lastStatus missing', body: withoutDetailField('lastStatus'), path: 'detail.lastStatus' },
    { case: 'task of another account', body: json(aTaskStateChange({ taskArn: TASK_ARN.replace('123456789012', '210987654321') })), path: 'detail.taskArn' },
    { case: 'task of another region', body: json(aTaskStateChange({ taskArn: TASK_ARN.replace('us-east-1', 'eu-west-1') })), path: 'detail.taskArn' },
    { case: 'long task ARN of another cluster', body: json(aTaskStateChange({ taskArn: TASK_ARN.replace('task/prod/', 'task/staging/') })), path: 'detail.taskArn' },
    { case: 'account not 12 digits', body: json({ ...aTaskStateChange(), account: 'root' }), path: 'account' },
    { case: 'private IP that is not IPv4', body: json(aTaskStateChange({ privateIpv4: '10.0.1.23; rm -rf /' })), path: 'detail.attachments[0].details[4].value' },
    { case: 'oversized body', body: json({ ...aTaskStateChange(), padding: 'x'.repeat(MAX_EVENT_BYTES) }) },
  ])('refuses $case', ({ body, path }) => {
    const result = parseTaskStateChange(body);

    expect(result).toMatchObject({ ok: false, reason: 'MALFORMED_EVENT' });
    if (path !== undefined && !result.ok) expect(result.detail.startsWith(`${path}:`)).toBe(true);
  });

  it('does not echo a huge field back in the detail', () => {
    const huge = 'arn:aws:ecs:us-east-1:123456789012:task/prod/' + 'a'.repeat(100_000);

    const result = parseTaskStateChange(json(aTaskStateChange({ taskArn: huge })));

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail.length).toBeLessThanOrEqual(300);
  });

  it('never throws for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (body) => {
        const result = parseTaskStateChange(body);

        expect(result.ok || result.reason === 'MALFORMED_EVENT').toBe(true);
      }),
    );
  });

  it('never throws for arbitrary JSON values, nor for a valid event with one field replaced', () => {
    const fields = Object.keys(aTaskStateChange().detail);
    const mutated = fc.record({ field: fc.constantFrom(...fields), value: fc.jsonValue() }).map(({ field, value }) => {
      const event = aTaskStateChange();
      event.detail[field] = value;
      return event;
    });

    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutated), (value) => {
        const result = parseTaskStateChange(JSON.stringify(value) ?? 'undefined');

        expect(result.ok || result.reason === 'MALFORMED_EVENT').toBe(true);
      }),
    );
  });
});
