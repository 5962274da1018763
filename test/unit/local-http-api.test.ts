/** The local HTTP API answers what API Gateway answers before a handler runs: 404, 413 and 400, never 405 or 500. */
import { request } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApi } from '../../local/http-api.js';

let server: Server;
let port: number;
const seen: unknown[] = [];

beforeAll(async () => {
  server = await startHttpApi(
    [
      { method: 'POST', path: '/v1/echo', handler: async (event) => (seen.push(event.body?.length), { statusCode: 200, body: '"ok"' }) },
      { method: 'GET', path: '/v1/enrollments/{taskId}', handler: async (event) => (seen.push(event.pathParameters), { statusCode: 200, body: JSON.stringify(event.pathParameters) }) },
      { method: 'GET', path: '/v1/echo-query', handler: async (event) => ({ statusCode: 200, body: JSON.stringify({ query: event.queryStringParameters, own: Object.keys(event.queryStringParameters ?? {}) }) }) },
    ],
    0,
  );
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function send(method: string, path: string, body?: Buffer): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || 'null') }));
    });
    // The server may close while the rest of an oversized body is still being written.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    req.end(body);
  });
}

describe('local HTTP API, refusals API Gateway makes itself', () => {
  it('answers 413 to a body over 1 MiB and never calls the handler', async () => {
    seen.length = 0;
    const res = await send('POST', '/v1/echo', Buffer.alloc(1024 * 1024 + 1, 'a'));

    expect(res).toEqual({ status: 413, json: { message: 'Request Entity Too Large' } });
    expect(seen).toEqual([]);
  });

  it('still serves a body of exactly 1 MiB', async () => {
    expect((await send('POST', '/v1/echo', Buffer.alloc(1024 * 1024, 'a'))).status).toBe(200);
  });

  it.each(['%E0%A4%A', '%', '%zz', 'abc%C0'])('answers 400 to a path parameter with a bad percent-escape (%s)', async (bad) => {
    seen.length = 0;
    const res = await send('GET', `/v1/enrollments/${bad}`);

    expect(res).toEqual({ status: 400, json: { message: 'Bad Request' } });
    expect(seen).toEqual([]);
  });

  it.each([
    { what: 'a known path with another method', method: 'DELETE', path: '/v1/echo' },
    { what: 'an unknown path', method: 'GET', path: '/v1/other' },
  ])('answers 404 Not Found to $what, as an HTTP API does (no route matches), never calling a handler', async ({ method, path }) => {
    seen.length = 0;
    const res = await send(method, path);

    expect(res).toEqual({ status: 404, json: { message: 'Not Found' } });
    expect(seen).toEqual([]);
  });

  it('decodes a good percent-escape', async () => {
    expect(await send('GET', '/v1/enrollments/a%2Fb')).toEqual({ status: 200, json: { taskId: 'a/b' } });
  });

  it('passes query parameters named after Object.prototype members through as data, repeated ones joined', async () => {
    const res = await send('GET', '/v1/echo-query?__proto__=a&constructor=b&toString=c&x=1&x=2');

    // JSON.parse, not a literal: in a literal `__proto__:` sets the prototype instead of a key.
    const query: unknown = JSON.parse('{"__proto__":"a","constructor":"b","toString":"c","x":"1,2"}');
    expect(res).toEqual({ status: 200, json: { query, own: ['__proto__', 'constructor', 'toString', 'x'] } });
  });
});
