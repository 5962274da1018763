import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signApiRequest, signedFetch, type AwsCredentialsLike, type SignedRequest } from '../../cli/api/signed-fetch.js';
import { LOCAL_OPERATOR, verifyIamRequest, type IncomingSignedRequest } from '../../local/iam-authorizer.js';
import { startHttpApi, type HttpHandler } from '../../local/http-api.js';

const NOW = new Date('2026-08-01T12:00:00Z');
const OPERATOR = { accessKeyId: LOCAL_OPERATOR.accessKeyId, secretAccessKey: LOCAL_OPERATOR.secretAccessKey };
const POLICY_YAML = 'apiVersion: ecsmesh.io/v1alpha1\nkind: OnboardingPolicy\nmetadata:\n  name: allow-ratings\n  namespace: bookinfo\n';

/** Signs as an operator's CLI does, and returns the request as the local server sees it. */
async function signed(url: string, request: SignedRequest = { method: 'GET' }, options: { credentials?: AwsCredentialsLike; signingDate?: Date; region?: string } = {}): Promise<IncomingSignedRequest> {
  const target = new URL(url);
  const headers = await signApiRequest(target, request, { region: options.region ?? 'us-east-1', credentials: options.credentials ?? OPERATOR, signingDate: options.signingDate ?? NOW });
  return {
    method: request.method,
    path: target.pathname,
    rawQueryString: target.search.slice(1),
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  };
}

const yamlPut = (): SignedRequest => ({ method: 'PUT', headers: { 'Content-Type': 'application/yaml' }, body: POLICY_YAML });

describe('verifyIamRequest', () => {
  it('accepts a signed GET with a query and describes the caller as API Gateway does', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments?cluster=demo&phase=enrolled');

    const verdict = await verifyIamRequest(request, NOW);

    expect(verdict).toEqual({
      ok: true,
      iam: { accessKey: 'testing', accountId: '123456789012', callerId: 'AIDALOCALOPERATOR', cognitoIdentity: null, principalOrgId: null, userArn: LOCAL_OPERATOR.userArn, userId: 'AIDALOCALOPERATOR' },
    });
  });

  it('accepts a signed PUT with a YAML body and a signed content-type', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/policies/bookinfo/allow-ratings', yamlPut());

    const verdict = await verifyIamRequest(request, NOW);

    expect(request.headers.authorization).toContain('SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,');
    expect(verdict).toMatchObject({ ok: true, iam: { userArn: 'arn:aws:iam::123456789012:user/local-operator' } });
  });

  it('accepts a query that repeats a key, every value signed', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments?phase=enrolled&phase=rejected&cluster=a%20b');

    expect(await verifyIamRequest(request, NOW)).toMatchObject({ ok: true });
  });

  it('accepts extra headers that were not signed, as SigV4 allows', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments?cluster=demo');
    request.headers = { ...request.headers, 'user-agent': 'curl/8', 'x-forwarded-for': '10.0.0.1' };

    expect(await verifyIamRequest(request, NOW)).toMatchObject({ ok: true });
  });

  it('accepts a signature dated within 5 minutes of its clock', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments', { method: 'GET' }, { signingDate: new Date(NOW.getTime() - 4 * 60_000) });

    expect(await verifyIamRequest(request, NOW)).toMatchObject({ ok: true });
  });

  it.each([
    {
      $case: 'no Authorization header',
      tamper: (r: IncomingSignedRequest) => ({ ...r, headers: { ...r.headers, authorization: undefined } }),
      reason: /no Authorization/,
    },
    { $case: 'a malformed Authorization header', tamper: (r: IncomingSignedRequest) => ({ ...r, headers: { ...r.headers, authorization: 'Bearer x' } }), reason: /AWS4-HMAC-SHA256/ },
    { $case: 'a tampered body', tamper: (r: IncomingSignedRequest) => ({ ...r, body: `${r.body ?? ''}  extra: true\n` }), reason: /x-amz-content-sha256/ },
    {
      $case: 'a tampered body without x-amz-content-sha256',
      tamper: (r: IncomingSignedRequest) => ({ ...r, body: `${r.body ?? ''}  extra: true\n`, headers: { ...r.headers, 'x-amz-content-sha256': undefined } }),
      reason: /signed header x-amz-content-sha256 is missing/,
    },
    { $case: 'a tampered query', tamper: (r: IncomingSignedRequest) => ({ ...r, rawQueryString: 'cluster=other' }), reason: /signature does not match/ },
    { $case: 'an added query parameter', tamper: (r: IncomingSignedRequest) => ({ ...r, rawQueryString: `${r.rawQueryString}&cluster=other` }), reason: /signature does not match/ },
    { $case: 'a tampered path', tamper: (r: IncomingSignedRequest) => ({ ...r, path: '/v1/policies/bookinfo/deny-all' }), reason: /signature does not match/ },
    { $case: 'another method', tamper: (r: IncomingSignedRequest) => ({ ...r, method: 'POST' }), reason: /signature does not match/ },
    {
      $case: 'a signed header changed after signing',
      tamper: (r: IncomingSignedRequest) => ({ ...r, headers: { ...r.headers, 'content-type': 'application/json' } }),
      reason: /signature does not match/,
    },
    { $case: 'another host', tamper: (r: IncomingSignedRequest) => ({ ...r, headers: { ...r.headers, host: '127.0.0.1:4000' } }), reason: /signature does not match/ },
    {
      $case: 'a service other than execute-api',
      tamper: (r: IncomingSignedRequest) => ({ ...r, headers: { ...r.headers, authorization: r.headers.authorization!.replace('/execute-api/', '/sts/') } }),
      reason: /service sts/,
    },
  ])('refuses $case', async ({ tamper, reason }) => {
    const request = tamper(await signed('http://127.0.0.1:3000/v1/policies/bookinfo/allow-ratings?dryRun=true', yamlPut()));

    const verdict = await verifyIamRequest(request, NOW);

    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  it('refuses a signature made with the wrong secret', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments', { method: 'GET' }, { credentials: { accessKeyId: 'testing', secretAccessKey: 'not-testing' } });

    expect(await verifyIamRequest(request, NOW)).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('refuses an unknown access key', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments', { method: 'GET' }, { credentials: { accessKeyId: 'AKIAOTHERKEY', secretAccessKey: 'testing' } });

    expect(await verifyIamRequest(request, NOW)).toEqual({ ok: false, reason: 'unknown access key AKIAOTHERKEY' });
  });

  it('refuses a signature by the operator\'s key scoped to another region, as API Gateway does', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments', { method: 'GET' }, { region: 'eu-west-1' });

    expect(await verifyIamRequest(request, NOW)).toEqual({ ok: false, reason: 'signed for region eu-west-1, not us-east-1', message: "Credential should be scoped to a valid region, not 'eu-west-1'. " });
  });

  it('refuses the operator\'s key with a session token the local STS never issued for it, even signed', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments', { method: 'GET' }, { credentials: { ...OPERATOR, sessionToken: 'invented-session-token' } });

    expect(request.headers.authorization).toContain('x-amz-security-token');
    expect(await verifyIamRequest(request, NOW)).toEqual({ ok: false, reason: 'a session token the local STS did not issue', message: 'The security token included in the request is invalid.' });
  });

  it.each([
    { $case: '10 minutes old', offsetMs: -10 * 60_000 },
    { $case: '10 minutes ahead', offsetMs: 10 * 60_000 },
  ])('refuses a signature dated $case', async ({ offsetMs }) => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments', { method: 'GET' }, { signingDate: new Date(NOW.getTime() + offsetMs) });

    expect(await verifyIamRequest(request, NOW)).toEqual({ ok: false, reason: expect.stringMatching(/more than 5 minutes/) });
  });

  it('refuses a signature that does not cover host', async () => {
    const request = await signed('http://127.0.0.1:3000/v1/enrollments');
    request.headers.authorization = request.headers.authorization!.replace('SignedHeaders=host;', 'SignedHeaders=');

    expect(await verifyIamRequest(request, NOW)).toEqual({ ok: false, reason: 'host is not a signed header' });
  });
});

describe('startHttpApi with an IAM route', () => {
  let close: (() => void) | undefined;
  afterEach(() => {
    close?.();
    vi.restoreAllMocks();
  });

  it('answers 403 Forbidden without calling the handler unless signed, and passes the caller to it', async () => {
    const handler = vi.fn<HttpHandler>(async (event: APIGatewayProxyEventV2) => ({ statusCode: 200, body: JSON.stringify((event.requestContext as { authorizer?: unknown }).authorizer) }));
    const server = await startHttpApi([{ method: 'GET', path: '/v1/enrollments/{taskId}', handler, auth: 'iam' }], 0);
    close = () => {
      server.closeAllConnections();
      server.close();
    };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/enrollments/abcd?view=full`;
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    const unsigned = await fetch(url);
    const unsignedBody = await unsigned.text();
    const called = handler.mock.calls.length;
    const ok = await signedFetch(url, { method: 'GET' }, { region: 'us-east-1', credentials: OPERATOR });

    expect(unsigned.status).toBe(403);
    expect(unsignedBody).toBe('{"message":"Forbidden"}');
    expect(called).toBe(0);
    expect(log).toHaveBeenCalledWith('[http-api] 403 GET /v1/enrollments/abcd: no Authorization header');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ iam: expect.objectContaining({ userArn: LOCAL_OPERATOR.userArn, accessKey: 'testing' }) });
  });

  it.each([
    { what: 'an invented session token', options: { region: 'us-east-1', credentials: { ...OPERATOR, sessionToken: 'invented' } }, message: 'The security token included in the request is invalid.' },
    { what: 'a signature scoped to another region', options: { region: 'eu-west-1', credentials: OPERATOR }, message: "Credential should be scoped to a valid region, not 'eu-west-1'. " },
  ])('answers 403 with API Gateway\'s message to $what, without calling the handler', async ({ options, message }) => {
    const handler = vi.fn<HttpHandler>(async () => ({ statusCode: 200, body: '{}' }));
    const server = await startHttpApi([{ method: 'GET', path: '/v1/enrollments', handler, auth: 'iam' }], 0);
    close = () => {
      server.closeAllConnections();
      server.close();
    };
    vi.spyOn(console, 'error').mockImplementation(() => undefined);

    const res = await signedFetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/enrollments`, { method: 'GET' }, options);

    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message });
    expect(handler).not.toHaveBeenCalled();
  });
});
