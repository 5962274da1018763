import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { createEnrollmentsHandler } from '../../functions/enrollments/handler.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import { asHandler } from '../support/aws-call-recorder.js';
import { aRecord } from '../fixtures/builders.js';
import { Pipeline } from '../support/pipeline.js';

let p: Pipeline;
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const get = async (path: string, query?: Record<string, string | undefined>, caller: string | null = 'arn:aws:iam::123456789012:user/operator') => {
  const taskId = /^\/v1\/enrollments\/(.+)$/.exec(path)?.[1];
  const event = {
    version: '2.0',
    routeKey: taskId ? 'GET /v1/enrollments/{taskId}' : 'GET /v1/enrollments',
    rawPath: path,
    headers: {},
    ...(query ? { queryStringParameters: query } : {}),
    ...(taskId ? { pathParameters: { taskId } } : {}),
    requestContext: { http: { method: 'GET', path }, ...(caller ? { authorizer: { iam: { userArn: caller } } } : {}) },
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

  it('answers with no nextToken when one page holds everything', async () => {
    const res = await get('/v1/enrollments', { namespace: 'shop' });

    expect(res.body).toMatchObject({ count: 2 });
    expect(res.body).not.toHaveProperty('nextToken');
  });

  it('refuses a task id that is not one', async () => {
    expect(await get('/v1/enrollments/..%2Fetc')).toMatchObject({ status: 400, body: { reason: 'INVALID_TASK_ID' } });
  });
});

describe('GET /v1/enrollments, paged', () => {
  const NAMESPACES = ['paged-a', 'paged-b', 'paged-c'];
  const PHASES = ['enrolled', 'pending', 'rejected'] as const;
  const ids: string[] = [];
  const taskId = (i: number) => `p${String(i).padStart(4, '0')}`;

  /** Follows nextToken to the end; `between` runs after each page (a concurrent writer). */
  const listAll = async (query: Record<string, string>, between: (page: number) => Promise<void> = async () => {}) => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; ; page++) {
      const res = await get('/v1/enrollments', { ...query, ...(token ? { nextToken: token } : {}) });
      expect(res.status).toBe(200);
      seen.push(...(res.body.items as { taskId: string }[]).map((i) => i.taskId));
      token = res.body.nextToken as string | undefined;
      if (!token) return seen;
      expect(page, 'the listing ends').toBeLessThan(200);
      await between(page);
    }
  };

  beforeAll(async () => {
    for (let i = 0; i < 150; i++) {
      ids.push(taskId(i));
      await p.deps.enrollments.put(aRecord({ taskId: taskId(i), namespace: NAMESPACES[i % 3], phase: PHASES[i % 3 === 0 ? 0 : (i >> 1) % 3], clusterName: i % 2 ? 'paging-1' : 'paging-2' }));
    }
  });

  it.each([
    { case: 'unfiltered', query: {}, expected: () => [...ids, 'aaaa', 'bbbb', 'cccc', 'dddd'] },
    { case: 'by namespace', query: { namespace: 'paged-b' }, expected: () => ids.filter((_, i) => i % 3 === 1) },
    { case: 'by cluster', query: { cluster: 'paging-1' }, expected: () => ids.filter((_, i) => i % 2 === 1) },
    { case: 'by phase', query: { phase: 'rejected' }, expected: () => [...ids.filter((_, i) => i % 3 !== 0 && (i >> 1) % 3 === 2), 'bbbb', 'dddd'] },
  ])('returns every record exactly once across pages, $case', async ({ query, expected }) => {
    const seen = await listAll({ ...(query as Record<string, string>), limit: '17' });

    expect(seen.length).toBe(new Set(seen).size);
    expect(seen.sort()).toEqual(expected().sort());
  });

  it('returns pages of at most the limit', async () => {
    const res = await get('/v1/enrollments', { namespace: 'paged-a', limit: '7' });

    expect(res.body).toMatchObject({ count: 7, nextToken: expect.any(String) });
  });

  it('keeps paging while records are written between pages: every record that stays in the listing is seen exactly once', async () => {
    let next = 1000;
    const seen = await listAll({ namespace: 'paged-c', limit: '10' }, async (page) => {
      // Rewrites (a newer version, another phase), a new task and a tombstone, as events would.
      await p.deps.enrollments.put(aRecord({ taskId: ids[page * 3 + 2]!, namespace: NAMESPACES[2], phase: 'enrolled', version: 10 + page, updatedAt: new Date().toISOString() }));
      await p.deps.enrollments.put(aRecord({ taskId: taskId(next++), namespace: NAMESPACES[2], phase: 'pending' }));
      await p.deps.enrollments.put(aRecord({ taskId: ids[149 - page * 3]!, namespace: NAMESPACES[2], phase: 'deregistered', version: 20 + page }));
    });

    expect(seen.length).toBe(new Set(seen).size);
    expect(seen).toEqual(expect.arrayContaining(ids.filter((_, i) => i % 3 === 2)));
  });

  it.each([
    { case: 'not base64url', token: 'not a token!' },
    { case: 'not JSON', token: Buffer.from('{"v":1,').toString('base64url') },
    { case: 'another shape', token: Buffer.from(JSON.stringify({ v: 2, p: 'paged-a' })).toString('base64url') },
    { case: 'a task id that is not one', token: Buffer.from(JSON.stringify({ v: 1, p: 'paged-a', a: '../x' })).toString('base64url') },
    { case: 'an extra field', token: Buffer.from(JSON.stringify({ v: 1, p: 'paged-a', a: 'p0001', x: 1 })).toString('base64url') },
    { case: 'another listing (another namespace)', token: Buffer.from(JSON.stringify({ v: 1, p: 'paged-b' })).toString('base64url') },
  ])('refuses a nextToken that is $case with 400 INVALID_NEXT_TOKEN', async ({ token }) => {
    const res = await get('/v1/enrollments', { namespace: 'paged-a', nextToken: token });

    expect(res).toMatchObject({ status: 400, body: { reason: 'INVALID_NEXT_TOKEN', message: expect.stringMatching(/nextToken/) } });
  });

  it('refuses a token of a filtered listing on the unfiltered one; a tampered one gets a 400 or a page, never a 500', async () => {
    const first = await get('/v1/enrollments', { cluster: 'paging-1', limit: '5' });
    const token = first.body.nextToken as string;
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'B' : 'A') + token.at(-1);

    expect(await get('/v1/enrollments', { nextToken: token })).toMatchObject({ status: 400, body: { reason: 'INVALID_NEXT_TOKEN' } });
    expect((await get('/v1/enrollments', { cluster: 'paging-1', nextToken: tampered })).status).toBeOneOf([200, 400]);
  });

  it('reads what a page returns, not the table: a page of 10 of one namespace examines 10 index items', async () => {
    const page = await p.deps.enrollments.listPage({ namespace: 'paged-a' }, 10);

    expect(page.items).toHaveLength(10);
    expect(page.examined).toBe(10);
  });
});

describe('the enrollment routes are IAM-authorized like every operator route', () => {
  it.each(['/v1/enrollments', '/v1/enrollments/abc123'])('answers %s without an IAM caller 403 UNAUTHENTICATED, reading nothing', async (path) => {
    expect(await get(path, undefined, null)).toMatchObject({ status: 403, body: { reason: 'UNAUTHENTICATED' } });
  });
});

describe('GET /v1/enrollments while the table gains its indexes', () => {
  it('answers 503 ENROLLMENT_INDEX_NOT_READY for a listing whose index does not exist yet, not a 500', async () => {
    // A table as an older stack had it: no indexes.
    const table = 'ecs-mesh-enrollments-no-indexes';
    await p.clients.dynamo.send(new CreateTableCommand({ TableName: table, KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
    const older = createEnrollmentsHandler(new DynamoDbEnrollmentStore(p.clients.dynamo, table), new Logger({ logLevel: 'SILENT' }));
    const event = { version: '2.0', rawPath: '/v1/enrollments', headers: {}, queryStringParameters: { namespace: 'shop' }, requestContext: { http: { method: 'GET', path: '/v1/enrollments' }, authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/operator' } } } } as unknown as APIGatewayProxyEventV2;

    const res = await older(event, {} as Context);

    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body ?? '{}')).toMatchObject({ reason: 'ENROLLMENT_INDEX_NOT_READY', message: expect.stringContaining('byNamespace') });
  });
});
