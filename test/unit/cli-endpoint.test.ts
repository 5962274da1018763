import { spawn } from 'node:child_process';
import dns from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { regionOfHost, resolveEndpoint } from '../../cli/mesh/endpoint.js';
import { readLocalContext, removeLocalContext, writeLocalContext, type LocalContext } from '../../local/context.js';
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
    { case: 'no URL at all', flags: {}, env: { AWS_REGION: 'eu-west-1' }, message: 'no API URL: pass --api-url, set ECS_MESH_API_URL, or start `npm run local`' },
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

  it('exits 2 with one line and a pointer to --help when no API URL is given, sending nothing', async () => {
    const run = await runCli(['policy', 'list', '-n', 'bookinfo'], { env: { AWS_REGION: 'eu-west-1' } });

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("error: no API URL: pass --api-url, set ECS_MESH_API_URL, or start `npm run local`\nsee 'ecs-mesh policy list --help'\n");
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

    expect(run).toEqual({ code: 1, stdout: '', stderr: `error: cannot reach http://127.0.0.1:${port}/prod/v1/enrollments/abc: connect ECONNREFUSED 127.0.0.1:${port} (is \`npm run local\` running?)\n` });
  });

  it('prints an error body that is not ours (API Gateway\'s 404) with the HTTP status text', async () => {
    const run = await runCli(['enrollments', 'list'], { env: { ECS_MESH_API_URL: `${api.url}/wrong-stage`, AWS_REGION: 'eu-west-1' } });

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: 404 Not Found: Not Found\n' });
  });
});

describe('ecs-mesh and the local stack\'s context file', () => {
  let api: FakeApi;
  let dir: string;
  beforeEach(async () => {
    // The stand-in plays the local stack: it accepts only the context's key, for the context's region.
    api = await startFakeApi('us-east-1');
    dir = mkdtempSync(join(tmpdir(), 'ecs-mesh-context-'));
  });
  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const contextOf = (apiUrl: string, pid = process.pid): LocalContext => ({
    version: 1,
    pid,
    startedAt: '2026-03-01T12:00:00.000Z',
    apiUrl,
    region: 'us-east-1',
    credentials: { mode: 'moto', ...TEST_CREDENTIALS },
    awsEndpoint: 'http://127.0.0.1:1',
    meshDir: dir,
    resources: { policyTable: 'p', policyAuditTable: 'a', enrollmentTable: 'e', authTable: 't', queueUrl: 'q', deadLetterQueueUrl: 'd' },
  });
  const running = (apiUrl: string) => () => ({ state: 'running' as const, context: contextOf(apiUrl) });
  // Credentials of the shell that the local stack would refuse: the context's must win over them.
  const shellCredentials = () => ({ accessKeyId: 'AKIDREALACCOUNT00001', secretAccessKey: 'real' });

  it('needs no URL, region or credentials while a local stack runs', async () => {
    const run = await runCli(['policy', 'list', '-n', 'bookinfo'], { env: { AWS_REGION: 'eu-west-1' }, credentials: shellCredentials, localContext: running(api.url) });

    expect(run).toEqual({ code: 0, stdout: 'NAMESPACE  NAME  REVISION  RULES  VALID  UPDATED  BY\n', stderr: '' });
    expect(api.requests[0]?.headers.authorization).toMatch(/Credential=AKIDCLITEST0000001\/\d{8}\/us-east-1\/execute-api\//);
  });

  it('signs with the local credentials for a loopback URL of that stack, localhost or 127.0.0.1', async () => {
    const url = api.url.replace('127.0.0.1', 'localhost');

    const run = await runCli(['policy', 'list', '-n', 'bookinfo', '--api-url', url], { env: {}, credentials: shellCredentials, localContext: running(api.url) });

    expect(run.code).toBe(0);
  });

  it('keeps the standard chain for another URL, and for an explicit --profile', async () => {
    const profiles: (string | undefined)[] = [];
    const other = await runCli(['policy', 'list', '-n', 'bookinfo'], { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'us-east-1' }, credentials: shellCredentials, localContext: running('http://127.0.0.1:1') });
    const profile = await runCli(['policy', 'list', '-n', 'bookinfo', '--profile', 'ops'], { env: {}, credentials: (p) => (profiles.push(p), TEST_CREDENTIALS), localContext: running(api.url) });

    expect(other).toMatchObject({ code: 1, stderr: expect.stringContaining('403 Forbidden') });
    expect(profile.code).toBe(0);
    expect(profiles).toEqual(['ops']);
  });

  it('says in one line, given no URL, that a stack which left its context behind is not running', async () => {
    const file = join(dir, 'context.json');
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await new Promise((resolve) => child.once('exit', resolve));
    writeLocalContext(file, contextOf(api.url, pid));

    const bare = await runCli(['keys', 'list'], { localContext: () => readLocalContext(file) });

    expect(bare).toEqual({ code: 1, stdout: '', stderr: `error: the local stack in ${file} (${api.url}, pid ${pid}) is not running: start \`npm run local\`, or delete the file\n` });
    expect(api.requests).toEqual([]);
    // A URL given is used as given, with the standard chain: whatever listens there answers.
    const pointed = await runCli(['policy', 'list', '-n', 'bookinfo', '--api-url', api.url, '--region', 'us-east-1'], { localContext: () => readLocalContext(file) });
    expect(pointed.code).toBe(0);
  });

  it('reads what npm run local wrote, refuses a file it did not write, and removes only its own', () => {
    const file = join(dir, 'context.json');
    writeLocalContext(file, contextOf(api.url));
    expect(readLocalContext(file)).toEqual({ state: 'running', context: contextOf(api.url) });

    removeLocalContext(file, process.pid + 1);
    expect(readLocalContext(file).state).toBe('running');
    removeLocalContext(file);
    expect(readLocalContext(file)).toEqual({ state: 'none' });

    writeFileSync(file, '{"apiUrl": 3}');
    expect(readLocalContext(file)).toEqual({ state: 'stale', message: `${file} is not a context \`npm run local\` wrote: delete it and start \`npm run local\`` });
  });
});
