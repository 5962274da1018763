import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod/mini';
import { iamCaller, readJsonBody, readQuery, requireIamCaller, routeTable } from '../../functions/http/edge.js';
import { CFN_TAGS } from '../support/example-task-definition.js';

const event = (method: string, path: string) => ({ rawPath: path, requestContext: { http: { method, path } } });
const ok = (text: string) => async () => ({ statusCode: 200, body: text });
const reason = (answer: { body?: string }) => (JSON.parse(answer.body ?? '{}') as { reason?: string }).reason;

describe('routeTable', () => {
  const route = routeTable([
    { method: 'GET', path: '/v1/things', handle: ok('list') },
    { method: 'GET', path: '/v1/things/{id}', handle: async (_, params) => ({ statusCode: 200, body: params.id }) },
    { method: 'POST', path: '/v1/things/{id}', handle: ok('post') },
  ]);

  it('routes by method and path, with path parameters decoded', async () => {
    expect(await route(event('GET', '/v1/things'))).toMatchObject({ body: 'list' });
    expect(await route(event('GET', '/v1/things/a%20b'))).toMatchObject({ body: 'a b' });
    expect(await route(event('POST', '/v1/things/x'))).toMatchObject({ body: 'post' });
  });

  it('answers an unknown path 404 and a known path with another method 405, naming the methods it takes', async () => {
    const missing = await route(event('GET', '/v1/other'));
    const wrong = await route(event('DELETE', '/v1/things/x'));

    expect([missing.statusCode, reason(missing)]).toEqual([404, 'NOT_FOUND']);
    expect([wrong.statusCode, reason(wrong), wrong.headers?.allow]).toEqual([405, 'METHOD_NOT_ALLOWED', 'GET, POST']);
  });

  it('never lets a parameter span segments', async () => {
    expect((await route(event('GET', '/v1/things/a/b'))).statusCode).toBe(404);
  });
});

describe('readQuery and readJsonBody: one status rule', () => {
  const Body = z.strictObject({ limit: z.number() });

  it('refuses a bad query 400 INVALID_QUERY with its problems at their pointers', () => {
    const read = readQuery({ queryStringParameters: { limt: '3' } }, z.strictObject({ limit: z.optional(z.string()) }));
    expect(read.ok).toBe(false);
    if (!read.ok) expect([read.answer.statusCode, JSON.parse(read.answer.body ?? '{}')]).toEqual([400, expect.objectContaining({ reason: 'INVALID_QUERY', problems: [{ pointer: '/limt', message: 'unknown field' }] })]);
  });

  it.each([
    { case: 'over the bound', body: JSON.stringify({ limit: 1, pad: 'x'.repeat(100) }), status: 413, reason: 'BODY_TOO_LARGE' },
    { case: 'not JSON', body: 'limit=1', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'a repeated key', body: '{"limit":1,"limit":2}', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'an array', body: '[1]', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'empty, where no empty body is allowed', body: '', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'failing the schema', body: '{"limit":"1"}', status: 422, reason: 'INVALID_REQUEST' },
  ])('refuses a body $case with $status $reason', ({ body, status, reason: expected }) => {
    const read = readJsonBody({ body }, { maxBytes: 64, check: Body });
    expect(read.ok).toBe(false);
    if (!read.ok) expect([read.answer.statusCode, reason(read.answer)]).toEqual([status, expected]);
  });

  it('reads a valid body, and an empty one as {} where the route says so', () => {
    expect(readJsonBody({ body: Buffer.from('{"limit":2}').toString('base64'), isBase64Encoded: true }, { maxBytes: 64, check: Body })).toEqual({ ok: true, value: { limit: 2 } });
    expect(readJsonBody({ body: '' }, { maxBytes: 64, emptyIsObject: true, check: z.strictObject({}) })).toEqual({ ok: true, value: {} });
  });
});

describe('requireIamCaller', () => {
  const before = requireIamCaller('these routes').before as (request: { event: unknown }) => unknown;

  it('answers an HTTP request without an IAM caller 403, and lets a signed one and any other trigger through', () => {
    const unsigned = before({ event: event('GET', '/v1/x') }) as { statusCode: number; body: string };
    expect([unsigned.statusCode, reason(unsigned)]).toEqual([403, 'UNAUTHENTICATED']);
    const signed = { ...event('GET', '/v1/x'), requestContext: { http: { method: 'GET' }, authorizer: { iam: { userArn: 'arn:aws:iam::1:user/op' } } } };
    expect(before({ event: signed })).toBeUndefined();
    expect(iamCaller(signed)).toBe('arn:aws:iam::1:user/op');
    expect(before({ event: { source: 'aws.events', 'detail-type': 'Scheduled Event' } })).toBeUndefined();
  });

  it('guards every function serverless.yml gives an AWS_IAM route', () => {
    const functions = (parseYaml(readFileSync('serverless.yml', 'utf8'), { customTags: CFN_TAGS }) as { functions: Record<string, { handler: string; events?: { httpApi?: { authorizer?: { type?: string } } }[] }> }).functions;
    const iamFunctions = Object.values(functions).filter((f) => f.events?.some((e) => e.httpApi?.authorizer?.type === 'aws_iam'));

    expect(iamFunctions.length).toBeGreaterThanOrEqual(6);
    for (const fn of iamFunctions) expect(readFileSync(`${fn.handler.replace(/\.handler$/, '')}.ts`, 'utf8'), fn.handler).toMatch(/\.use\(requireIamCaller\(/);
  });
});
