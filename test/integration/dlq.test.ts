// `ecs-mesh dlq list|replay` end to end on the AWS side: the real dlq handler against moto's
// queues, and replayed records through the real task-events handler (the Pipeline's).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { createDlqHandler } from '../../functions/dlq/handler.js';
import { asHandler } from '../support/aws-call-recorder.js';
import { SqsDeadLetterQueue } from '../../shared/adapters/sqs-dead-letter-queue.js';
import { aPolicy } from '../fixtures/builders.js';
import { aTaskStateChange } from '../fixtures/ecs-events.js';
import { Pipeline } from '../support/pipeline.js';

let p: Pipeline;
let clusterArn: string;
let taskDef: string;
let dlq: (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context) => ReturnType<ReturnType<typeof createDlqHandler>>;

beforeAll(async () => {
  p = await Pipeline.start('-dlq');
  clusterArn = await p.createCluster('prod');
  const role = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: role });
  await p.putPolicy(aPolicy());
  p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: { ports: { http: 9080 } } } });
  // The module reads its (required) queue URLs at import, as on AWS.
  vi.stubEnv('DEAD_LETTER_QUEUE_URL', p.stack.deadLetterQueueUrl);
  vi.stubEnv('TASK_EVENTS_QUEUE_URL', p.stack.queueUrl);
  const { createDlqHandler } = await import('../../functions/dlq/handler.js');
  // Its calls recorded as the dlq role's, for the IAM check.
  dlq = asHandler(p.scope('dlq'), createDlqHandler(new SqsDeadLetterQueue(p.clients.sqs, p.stack.deadLetterQueueUrl, p.stack.queueUrl), new Logger({ logLevel: 'SILENT' })));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await p.stop();
});

const call = async (method: 'GET' | 'POST', path: string, options: { body?: string; query?: Record<string, string>; caller?: string | null } = {}) => {
  const caller = options.caller === undefined ? 'arn:aws:iam::123456789012:user/operator' : options.caller;
  const event = {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    headers: {},
    isBase64Encoded: false,
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    requestContext: { requestId: 'req-dlq', http: { method, path }, ...(caller ? { authorizer: { iam: { userArn: caller } } } : {}) },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
  const res = (await dlq(event, {} as Context)) as APIGatewayProxyStructuredResultV2;
  return { status: res.statusCode, body: JSON.parse(res.body ?? 'null') as Record<string, unknown> };
};
const depth = async (url: string) => {
  const out = await p.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes!.ApproximateNumberOfMessages) + Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible);
};

describe('the dlq function against moto, replaying through task-events', () => {
  it('lists what task-events set aside and what SQS redrove, replays both, and the good record enrolls', async () => {
    // A mesh outage: the record fails (SQS then redrives it, body unchanged and without our
    // attributes, after 5 receives), and task-events sets a malformed one aside at once.
    const [taskArn] = await p.runTask('prod', taskDef);
    const taskId = taskArn!.split('/').pop()!;
    const running = JSON.stringify(aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' }));
    p.k8s.setOutage(503);
    expect((await p.deliver([running])).batchItemFailures).toHaveLength(1);
    p.k8s.setOutage(undefined);
    await p.clients.sqs.send(new SendMessageCommand({ QueueUrl: p.stack.deadLetterQueueUrl, MessageBody: running }));
    await p.deliver(['{"not": "an ECS event"']);
    expect(await p.record(taskArn!)).toBeUndefined();

    const listed = await call('GET', '/v1/dlq');

    expect(listed.status).toBe(200);
    const records = listed.body.records as { messageId: string; reason?: string; body: string; sentAt?: string; receiveCount?: number }[];
    expect(records.map((r) => [r.reason, r.body]).sort()).toEqual([
      ['MALFORMED_EVENT', '{"not": "an ECS event"'],
      [undefined, running],
    ].sort());
    for (const r of records) expect(r.sentAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Listing leaves them there, visible: the next list (or a replay) sees them all at once.
    expect(await depth(p.stack.deadLetterQueueUrl)).toBe(2);
    expect(((await call('GET', '/v1/dlq')).body.records as unknown[]).length).toBe(2);

    const replay = await call('POST', '/v1/dlq/replay', { body: '{}' });

    expect(replay.status).toBe(200);
    expect(replay.body.replayed).toBe(2);
    expect(await depth(p.stack.deadLetterQueueUrl)).toBe(0);
    expect(await depth(p.stack.queueUrl)).toBe(2);

    const { failed } = await p.pump({ publish: false });

    expect(failed).toEqual([]);
    expect(p.entries().some((e) => e.metadata.name === `ratings-${taskId}`)).toBe(true);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', reason: 'POLICY_ALLOWED' });
    // The malformed record is set aside again, with its reason: a replay cannot lose it.
    const again = (await call('GET', '/v1/dlq')).body.records as { reason?: string; body: string }[];
    expect(again).toEqual([expect.objectContaining({ reason: 'MALFORMED_EVENT', body: '{"not": "an ECS event"' })]);
  }, 30_000);

  it.each([
    { case: 'no IAM caller', method: 'GET' as const, path: '/v1/dlq', options: { caller: null }, status: 403, reason: 'UNAUTHENTICATED' },
    { case: 'a limit over 100', method: 'GET' as const, path: '/v1/dlq', options: { query: { limit: '101' } }, status: 400, reason: 'INVALID_QUERY' },
    { case: 'an unknown field', method: 'POST' as const, path: '/v1/dlq/replay', options: { body: '{"all": true}' }, status: 422, reason: 'INVALID_REQUEST' },
    { case: 'a body that is not JSON', method: 'POST' as const, path: '/v1/dlq/replay', options: { body: '{' }, status: 400, reason: 'MALFORMED_BODY' },
    { case: 'a GET of the replay route', method: 'GET' as const, path: '/v1/dlq/replay', options: {}, status: 405, reason: 'METHOD_NOT_ALLOWED' },
  ])('refuses $case and replays nothing', async ({ method, path, options, status, reason }) => {
    await p.clients.sqs.send(new SendMessageCommand({ QueueUrl: p.stack.deadLetterQueueUrl, MessageBody: 'kept' }));
    const before = await depth(p.stack.deadLetterQueueUrl);

    const res = await call(method, path, options);

    expect(res.status).toBe(status);
    expect(res.body.reason).toBe(reason);
    expect(await depth(p.stack.deadLetterQueueUrl)).toBe(before);
  });
});
