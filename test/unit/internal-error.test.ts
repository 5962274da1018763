import { describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, Context, ScheduledEvent } from 'aws-lambda';
import { createEnrollmentsHandler } from '../../functions/enrollments/handler.js';
import { createKeysHandler } from '../../functions/keys/handler.js';
import type { EnrollmentStore } from '../../shared/ports.js';

const failing = (message: string) => async () => {
  throw new Error(message);
};
const silent = () => new Logger({ logLevel: 'SILENT' });
const httpGet = (path: string) => ({ version: '2.0', rawPath: path, headers: {}, requestContext: { http: { method: 'GET', path }, authorizer: { iam: { userArn: 'arn:aws:iam::123456789012:user/operator' } } } }) as unknown as APIGatewayProxyEventV2;

describe('internalErrorAs500', () => {
  it('answers an HTTP request whose handling failed with a generic 500 that leaks nothing', async () => {
    const store = { get: failing('dynamo says: table arn:aws:dynamodb:... is gone'), getMany: failing('x'), put: failing('x'), putReconciled: failing('x'), listPage: failing('x'), summaries: failing('x'), attachToken: failing('x') } satisfies EnrollmentStore;

    const res = await createEnrollmentsHandler(store, silent())(httpGet('/v1/enrollments'), {} as Context);

    expect(res).toEqual({ statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'INTERNAL', message: 'internal error' }) });
  });

  it('lets a scheduled invocation fail, so Lambda retries it and counts the error', async () => {
    const store = { rotate: failing('secrets manager unavailable'), prune: failing('secrets manager unavailable'), revoke: failing('secrets manager unavailable') };
    const handler = createKeysHandler({ stores: { istio: store, kuma: store }, published: { istio: { statuses: async () => [] }, kuma: { statuses: async () => [] } }, defaultProfile: 'istio' }, silent());
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} } as unknown as ScheduledEvent;

    await expect(handler(scheduled as never, {} as Context)).rejects.toThrow('secrets manager unavailable');
  });
});
