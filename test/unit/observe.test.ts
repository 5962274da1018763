import { afterEach, describe, expect, it, vi } from 'vitest';
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { correlationIdOf } from '../../functions/observe/correlation-id.js';
import { functionMetrics, observe } from '../../functions/observe/middleware.js';
import { emitMetrics } from '../../functions/observe/emit-metrics.js';

const context = { functionName: 'ecs-mesh-onboarding-ci-auth', awsRequestId: 'req-1', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f', memoryLimitInMB: '256', functionVersion: '$LATEST', getRemainingTimeInMillis: () => 1000 } as unknown as Context;

/** Everything written to stdout while `run` runs, one parsed JSON object per line. */
async function stdoutOf(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return written.join('').split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('correlationIdOf', () => {
  it.each([
    { case: 'an HTTP API request', event: { requestContext: { requestId: 'Abc123=', http: { method: 'GET' } } }, id: 'Abc123=' },
    { case: 'an EventBridge schedule', event: { id: '5f1e-ev', 'detail-type': 'Scheduled Event', source: 'aws.events' }, id: '5f1e-ev' },
    { case: 'an SQS batch', event: { Records: [{ messageId: 'm1' }, { messageId: 'm2' }] }, id: 'm1,m2' },
    { case: 'a DynamoDB stream batch', event: { Records: [{ eventID: 'd1' }] }, id: 'd1' },
    { case: 'a direct invocation with nothing to go by', event: { clusters: ['prod'] }, id: undefined },
    { case: 'no event', event: undefined, id: undefined },
  ])('finds the id of $case', ({ event, id }) => {
    expect(correlationIdOf(event)).toBe(id);
  });
});

describe('observe', () => {
  it('puts the request id on every log line of the invocation, and not on the next one', async () => {
    const logger = new Logger({ serviceName: 'test' });
    const handler = middy(async () => {
      logger.info('inside');
      return 'ok';
    }).use(observe(logger, functionMetrics('test')));

    const lines = await stdoutOf(async () => {
      await handler({ requestContext: { requestId: 'req-A', http: {} } }, context);
      await handler({ clusters: [] }, context);
    });

    const inside = lines.filter((l) => l.message === 'inside');
    expect(inside).toHaveLength(2);
    expect(inside[0]).toMatchObject({ correlation_id: 'req-A', function_request_id: 'req-1' });
    expect(inside[1]).not.toHaveProperty('correlation_id');
  });

  it('emits a ColdStart metric once, and publishes what the handler stored, dimensions and all', async () => {
    // Lambda sets it; Powertools counts no cold start without it.
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
    const metrics = functionMetrics('test');
    const handler = middy(async () => {
      emitMetrics(metrics, [
        { name: 'dlq_set_aside', unit: 'Count', value: 1 },
        { name: 'enrollments', unit: 'Count', value: 3, dimensions: { phase: 'enrolled', reason: 'POLICY_ALLOWED' } },
      ]);
    }).use(observe(logger, metrics));

    const blobs = await stdoutOf(async () => {
      await handler({}, context);
      await handler({}, context);
    });

    const named = (name: string) => blobs.filter((b) => name in b);
    expect(named('ColdStart')).toHaveLength(1);
    expect(named('ColdStart')[0]).toMatchObject({ function_name: 'ecs-mesh-onboarding-ci-auth', service: 'test' });
    expect(named('dlq_set_aside')).toHaveLength(2);
    expect(named('enrollments')[0]).toMatchObject({ enrollments: 3, phase: 'enrolled', reason: 'POLICY_ALLOWED', service: 'test' });
    const aws = named('enrollments')[0]!._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe('EcsMeshOnboarding');
    expect(aws.CloudWatchMetrics[0]!.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'phase', 'reason']));
  });
});
