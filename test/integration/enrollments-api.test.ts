import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createEnrollmentsHandler } from '../../functions/enrollments/handler.js';
import { asHandler } from '../support/aws-call-recorder.js';
import { aRecord } from '../fixtures/builders.js';
import { Pipeline } from '../support/pipeline.js';

let p: Pipeline;
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const get = async (path: string, query?: Record<string, string | undefined>) => {
  const taskId = /^\/v1\/enrollments\/(.+)$/.exec(path)?.[1];
  const event = {
    version: '2.0',
    routeKey: taskId ? 'GET /v1/enrollments/{taskId}' : 'GET /v1/enrollments',
    rawPath: path,
    headers: {},
    ...(query ? { queryStringParameters: query } : {}),
    ...(taskId ? { pathParameters: { taskId } } : {}),
    requestContext: { http: { method: 'GET', path } },
  } as unknown as APIGatewayProxyEventV2;
  const res = await handler(event, {} as Context);
  return { status: res.statusCode, body: JSON.parse(res.body ?? '{}') as Record<string, unknown> };
};

beforeAll(async () => {
  p = await Pipeline.start('-enrollments-api');
  handler = asHandler(p.scope('enrollments'), createEnrollmentsHandler(p.deps.enrollments, new Logger({ logLevel: 'SILENT' })));
  await p.deps.enrollments.put(aRecord({ taskId: 'aaaa', phase: 'enrolled', namespace: 'bookinfo', clusterName: 'prod' }));
  await p.deps.enrollments.put(aRecord({ taskId: 'bbbb', phase: 'rejected', reason: 'POLICY_DENIED', namespace: 'bookinfo', clusterName: 'prod' }));
  await p.deps.enrollments.put(aRecord({ taskId: 'cccc', phase: 'enrolled', namespace: 'shop', clusterName: 'staging' }));
  const at = new Date().toISOString();
  await p.deps.enrollments.putReconciled(aRecord({ taskId: 'dddd', phase: 'rejected', reason: 'POLICY_REVOKED', namespace: 'shop', clusterName: 'staging', lastReconciledAt: at, repair: { kind: 'revoked', at, why: 'x' } }), 1);
});

afterAll(() => p.stop());

describe('GET /v1/enrollments', () => {
  it('returns one task by id', async () => {
    const res = await get('/v1/enrollments/bbbb');

    expect(res).toMatchObject({ status: 200, body: { taskId: 'bbbb', phase: 'rejected', reason: 'POLICY_DENIED' } });
  });

  it('answers 404 with a reason for an unknown task', async () => {
    expect(await get('/v1/enrollments/zzzz')).toMatchObject({ status: 404, body: { reason: 'ENROLLMENT_NOT_FOUND' } });
  });

  it.each([
    { case: 'by cluster', query: { cluster: 'prod' }, ids: ['aaaa', 'bbbb'] },
    { case: 'by namespace', query: { namespace: 'shop' }, ids: ['cccc', 'dddd'] },
    { case: 'by phase', query: { phase: 'enrolled' }, ids: ['aaaa', 'cccc'] },
    { case: 'by cluster and phase', query: { cluster: 'prod', phase: 'rejected' }, ids: ['bbbb'] },
    { case: 'by the repair the reconciler made', query: { repair: 'revoked' }, ids: ['dddd'] },
    { case: 'by a repair no record had', query: { repair: 'drifted' }, ids: [] },
  ])('filters $case', async ({ query, ids }) => {
    const res = await get('/v1/enrollments', query);

    expect(res.status).toBe(200);
    expect((res.body.items as { taskId: string }[]).map((i) => i.taskId).sort()).toEqual(ids);
  });

  it.each([
    { case: 'an unknown phase', query: { phase: 'exploded' } },
    { case: 'an unknown repair kind', query: { repair: 'fixed' } },
    { case: 'an unknown parameter', query: { colour: 'red' } },
    { case: 'a limit of zero', query: { limit: '0' } },
  ])('refuses $case with 400 INVALID_QUERY', async ({ query }) => {
    expect(await get('/v1/enrollments', query)).toMatchObject({ status: 400, body: { reason: 'INVALID_QUERY' } });
  });

  it('refuses a task id that is not one', async () => {
    expect(await get('/v1/enrollments/..%2Fetc')).toMatchObject({ status: 400, body: { reason: 'INVALID_TASK_ID' } });
  });
});
