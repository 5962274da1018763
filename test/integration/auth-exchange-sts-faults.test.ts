import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aPolicy } from '../fixtures/builders.js';
import { startExchange } from '../support/exchange-harness.js';
import { Pipeline } from '../support/pipeline.js';

// A stand-in STS on loopback for the faults moto cannot produce: throttling and a hang.
const THROTTLED = '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>';

let p: Pipeline;
let sts: Server;
let mode: 'throttle' | 'hang' = 'throttle';
const received: string[] = [];

beforeAll(async () => {
  p = await Pipeline.start('-auth-faults');
  await p.createCluster('prod');
  await p.putPolicy(aPolicy());
  sts = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    if (mode === 'throttle') res.writeHead(400, { 'content-type': 'text/xml' }).end(THROTTLED);
    // 'hang': never answer
  });
  await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  sts.closeAllConnections();
  sts.close();
  await p.stop();
});

describe('the auth exchange when STS misbehaves', () => {
  it('answers 429 with Retry-After while STS throttles', async () => {
    const endpoint = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
    const x = await startExchange(p, { STS_LOCAL_ENDPOINT: endpoint });
    mode = 'throttle';
    const body = await x.sign({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'x', sessionToken: 't' }, 'arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef', { stsUrl: `${endpoint}/` });

    const res = await x.exchange(body);

    expect(res).toMatchObject({ status: 429, json: { reason: 'STS_THROTTLED' }, headers: { 'retry-after': '5' } });
    expect(received).toEqual(['POST /']);
    expect(JSON.stringify(res.json)).not.toContain('Rate exceeded');
  });

  it('answers 503 within 10 s while STS hangs', async () => {
    const endpoint = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
    const x = await startExchange(p, { STS_LOCAL_ENDPOINT: endpoint, STS_TIMEOUT_MS: '2000' });
    mode = 'hang';
    const body = await x.sign({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'x', sessionToken: 't' }, 'arn:aws:ecs:us-east-1:123456789012:task/prod/fedcba9876543210fedcba9876543210', {
      stsUrl: `${endpoint}/`,
      // Another signature than the first test's (which the replay guard has claimed).
      signingDate: new Date(Date.now() - 5000),
    });
    const started = Date.now();

    const res = await x.exchange(body);

    expect(res).toMatchObject({ status: 503, json: { reason: 'STS_UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
