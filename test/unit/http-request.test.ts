import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpRequester, HttpTransportError } from '../../shared/adapters/http-request.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../support/agent-tls-fixture.js';

let certPem: string;
let server: Server;
let url: string;

beforeAll(async () => {
  certPem = TEST_TLS_CERT;
  server = createServer({ key: TEST_TLS_KEY, cert: certPem }, (req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, auth: req.headers.authorization }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('createHttpRequester', () => {
  it('trusts the configured cluster CA', async () => {
    const request = createHttpRequester({ caPem: certPem, timeoutMs: 1000 });

    const answer = await request(`${url}/apis`, { method: 'GET', headers: { authorization: 'Bearer t' } });

    expect(answer).toMatchObject({ status: 200, text: JSON.stringify({ method: 'GET', auth: 'Bearer t' }), headers: { 'content-type': 'application/json' } });
  });

  it('refuses a server whose certificate the configured trust does not cover', async () => {
    const request = createHttpRequester({ timeoutMs: 1000 });

    const failure = await request(`${url}/apis`, { method: 'GET', headers: {} }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(HttpTransportError);
    expect((failure as HttpTransportError).code).toMatch(/CERT|SELF_SIGNED/);
  });

  it('gives up at the deadline with TIMEOUT', async () => {
    const request = createHttpRequester({ caPem: certPem, timeoutMs: 200 });

    const failure = await request(`${url}/slow`, { method: 'GET', headers: {} }).catch((e: unknown) => e);

    expect(failure).toMatchObject({ name: 'HttpTransportError', code: 'TIMEOUT' });
  });
});
