import dns from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { regionOfHost, resolveEndpoint } from '../../cli/mesh/endpoint.js';
import { STAGE, startFakeApi, TEST_CREDENTIALS, type FakeApi } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';

describe('resolveEndpoint', () => {
  const EXECUTE_API = 'https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/prod';

  it.each([
    { case: 'the flag over every variable', flags: { region: 'us-west-2' }, env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' }, region: 'us-west-2' },
    { case: 'the execute-api host over the variables', flags: {}, env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' }, region: 'ap-southeast-2' },
    { case: 'the execute-api host when nothing else names one', flags: {}, env: {}, region: 'ap-southeast-2' },
  ])('takes $case', ({ flags, env, region }) => {
    expect(resolveEndpoint({ apiUrl: EXECUTE_API, ...flags }, env).region).toBe(region);
  });

  it.each([
    { case: 'AWS_REGION over AWS_DEFAULT_REGION', env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' }, region: 'eu-west-1' },
    { case: 'AWS_DEFAULT_REGION when AWS_REGION is unset', env: { AWS_DEFAULT_REGION: 'eu-central-1' }, region: 'eu-central-1' },
  ])('for a custom domain, takes $case', ({ env, region }) => {
    expect(resolveEndpoint({ apiUrl: 'https://mesh.example.com' }, env).region).toBe(region);
  });

  it('takes the URL from ECS_MESH_API_URL when no flag gives one', () => {
    expect(resolveEndpoint({}, { ECS_MESH_API_URL: EXECUTE_API }).baseUrl.href).toBe(EXECUTE_API);
  });

  it.each([
    { case: 'no URL at all', flags: {}, env: { AWS_REGION: 'eu-west-1' }, message: 'no API URL: pass --api-url or set ECS_MESH_API_URL' },
    { case: 'a custom domain and no region', flags: { apiUrl: 'https://mesh.example.com' }, env: {}, message: 'no region to sign for: pass --region or set AWS_REGION (mesh.example.com is not an execute-api hostname)' },
    { case: 'a URL with a query', flags: { apiUrl: 'https://mesh.example.com/?stage=prod', region: 'eu-west-1' }, env: {}, message: 'API URL https://mesh.example.com/?stage=prod must be an http(s) URL without query, fragment or credentials' },
    { case: 'not a URL', flags: { apiUrl: 'mesh.example.com' }, env: {}, message: 'API URL mesh.example.com is not a URL' },
  ])('refuses $case', ({ flags, env, message }) => {
    expect(() => resolveEndpoint(flags, env)).toThrow(message);
  });

  it.each([
    { host: 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com', region: 'us-east-1' },
    { host: 'a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn', region: 'cn-north-1' },
    { host: 'a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com', region: 'us-gov-west-1' },
    { host: 'execute-api.us-east-1.amazonaws.com', region: undefined },
    { host: 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com.evil.example', region: undefined },
  ])('reads region $region from $host', ({ host, region }) => {
    expect(regionOfHost(host)).toBe(region);
  });
});

describe('ecs-mesh endpoint and credentials', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = await startFakeApi('eu-west-1');
  });
  afterEach(() => api.close());

  it('exits 2 with the usage when no API URL is given, sending nothing', async () => {
    const run = await runCli(['policy', 'list', '-n', 'bookinfo'], { env: { AWS_REGION: 'eu-west-1' } });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: no API URL: pass --api-url or set ECS_MESH_API_URL\n\nusage: ecs-mesh /);
    expect(api.requests).toEqual([]);
  });

  it('signs for the region of an execute-api URL when no region is configured', async () => {
    // Resolve the API Gateway hostname to the stand-in, so the request keeps its real Host header.
    const port = new URL(api.url).port;
    const original = dns.lookup;
    const patched = ((host: string, options: unknown, callback: unknown) => {
      const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
      if (!host.endsWith('.amazonaws.com')) return (original as (...args: unknown[]) => void)(host, options, callback);
      return all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    }) as typeof dns.lookup;
    dns.lookup = patched;
    try {
      const run = await runCli(['policy', 'list', '-n', 'bookinfo', '--api-url', `http://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com:${port}${STAGE}`]);

      expect(run).toEqual({ code: 0, stdout: 'NAMESPACE  NAME  REVISION  RULES  VALID  UPDATED  BY\n', stderr: '' });
      expect(api.requests[0]?.headers.host).toBe(`a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com:${port}`);
      expect(api.requests[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDCLITEST0000001\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /);
    } finally {
      dns.lookup = original;
    }
  });

  it('explains API Gateway\'s 403 for a signature that does not verify', async () => {
    const run = await runCli(['policy', 'list', '-n', 'bookinfo'], { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' }, credentials: () => ({ ...TEST_CREDENTIALS, secretAccessKey: 'wrong' }) });

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: 403 Forbidden: the API refused the request signature or IAM denied it (check credentials, region and IAM policy)\n' });
  });

  it('gets a 403 too when signing for another region than the API\'s', async () => {
    const run = await runCli(['policy', 'list', '-n', 'bookinfo', '--region', 'us-east-1'], { env: { ECS_MESH_API_URL: api.url } });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: 403 Forbidden: ');
    expect(api.requests[0]?.headers.authorization).toContain('/us-east-1/execute-api/aws4_request');
  });

  it('asks the credential source for the --profile given', async () => {
    const profiles: (string | undefined)[] = [];

    const run = await runCli(['policy', 'list', '--profile', 'mesh-admin', '-n', 'bookinfo'], { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' }, credentials: (profile) => (profiles.push(profile), TEST_CREDENTIALS) });

    expect(run.code).toBe(0);
    expect(profiles).toEqual(['mesh-admin']);
  });

  it('says so when the credential chain has nothing, without sending', async () => {
    const run = await runCli(['policy', 'list', '-n', 'bookinfo'], { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' }, credentials: () => () => Promise.reject(new Error('Could not load credentials from any providers')) });

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: cannot load AWS credentials: Could not load credentials from any providers\n' });
    expect(api.requests).toEqual([]);
  });

  it('reports an API it cannot reach with the URL and the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const run = await runCli(['enrollments', 'get', 'abc'], { env: { ECS_MESH_API_URL: `http://127.0.0.1:${port}/prod/`, AWS_REGION: 'eu-west-1' } });

    expect(run).toEqual({ code: 1, stdout: '', stderr: `error: cannot reach http://127.0.0.1:${port}/prod/v1/enrollments/abc: connect ECONNREFUSED 127.0.0.1:${port}\n` });
  });

  it('prints an error body that is not ours (API Gateway\'s 404) with the HTTP status text', async () => {
    const run = await runCli(['enrollments', 'list'], { env: { ECS_MESH_API_URL: `${api.url}/wrong-stage`, AWS_REGION: 'eu-west-1' } });

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: 404 Not Found: Not Found\n' });
  });
});
