import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildExchangeRequest, GET_CALLER_IDENTITY_BODY } from '../../cli/agent/sign-request.js';

const INPUT = {
  credentials: { accessKeyId: 'ASIAEXAMPLEKEYID0001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN' },
  region: 'eu-west-1',
  stsUrl: 'https://sts.eu-west-1.amazonaws.com/',
  serverId: 'prod-mesh',
  signingDate: new Date('2026-03-01T12:34:56Z'),
  taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/shop/0123456789abcdef0123456789abcdef',
};

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** Recomputes a SigV4 signature from the decoded parts alone (AWS's documented algorithm, no SDK). */
function expectedSignature(method: string, url: string, body: string, headers: Record<string, string[]>, secret: string): string {
  const auth = headers.authorization![0]!;
  const [, date, region, service] = /Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth)!;
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1]!;
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${headers[name]![0]!.trim()}\n`)
    .join('');
  const canonicalRequest = [method, new URL(url).pathname, '', canonicalHeaders, signedHeaders, sha256(body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', headers['x-amz-date']![0], scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

describe('buildExchangeRequest', () => {
  it('encodes the signed GetCallerIdentity in the Vault/Consul wire format', async () => {
    const body = await buildExchangeRequest({ ...INPUT, workloadGroup: 'shop/cart', labels: { version: 'v2' } });

    expect(body.iam_http_request_method).toBe('POST');
    expect(decode(body.iam_request_url)).toBe('https://sts.eu-west-1.amazonaws.com/');
    expect(decode(body.iam_request_body)).toBe(GET_CALLER_IDENTITY_BODY);
    expect(body).toMatchObject({ taskArn: INPUT.taskArn, workloadGroup: 'shop/cart', labels: { version: 'v2' } });
    const headers = JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;
    expect(Object.keys(headers).sort()).toEqual(['authorization', 'content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-ecsmesh-server-id']);
    expect(headers).toMatchObject({ host: ['sts.eu-west-1.amazonaws.com'], 'content-type': ['application/x-www-form-urlencoded; charset=utf-8'], 'x-ecsmesh-server-id': ['prod-mesh'], 'x-amz-date': ['20260301T123456Z'], 'x-amz-security-token': [INPUT.credentials.sessionToken] });
  });

  it('signs the audience header, so the signature binds this deployment', async () => {
    const body = await buildExchangeRequest(INPUT);

    const headers = JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;
    const auth = headers.authorization![0]!;
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID0001\/20260301\/eu-west-1\/sts\/aws4_request, /);
    expect(/SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';')).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-ecsmesh-server-id']);
    const signature = /Signature=([0-9a-f]{64})$/.exec(auth)![1];
    expect(signature).toBe(expectedSignature('POST', decode(body.iam_request_url), decode(body.iam_request_body), headers, INPUT.credentials.secretAccessKey));
    const forged = { ...headers, 'x-ecsmesh-server-id': ['another-mesh'] };
    expect(expectedSignature('POST', decode(body.iam_request_url), decode(body.iam_request_body), forged, INPUT.credentials.secretAccessKey)).not.toBe(signature);
  });

  it('signs the same inputs to the same signature, and another server ID to another one', async () => {
    const first = await buildExchangeRequest(INPUT);
    const again = await buildExchangeRequest(INPUT);
    const other = await buildExchangeRequest({ ...INPUT, serverId: 'staging-mesh' });

    expect(again.iam_request_headers).toBe(first.iam_request_headers);
    expect(other.iam_request_headers).not.toBe(first.iam_request_headers);
  });

  it('signs for a local STS endpoint with its port in the host header', async () => {
    const body = await buildExchangeRequest({ ...INPUT, stsUrl: 'http://127.0.0.1:5000/' });

    const headers = JSON.parse(decode(body.iam_request_headers)) as Record<string, string[]>;
    expect(decode(body.iam_request_url)).toBe('http://127.0.0.1:5000/');
    expect(headers.host).toEqual(['127.0.0.1:5000']);
    expect(/Signature=([0-9a-f]{64})$/.exec(headers.authorization![0]!)![1]).toBe(expectedSignature('POST', 'http://127.0.0.1:5000/', GET_CALLER_IDENTITY_BODY, headers, INPUT.credentials.secretAccessKey));
  });

  it('leaves out the group and labels when none is configured', async () => {
    const body = await buildExchangeRequest(INPUT);

    expect(Object.keys(body).sort()).toEqual(['iam_http_request_method', 'iam_request_body', 'iam_request_headers', 'iam_request_url', 'taskArn']);
  });
});
