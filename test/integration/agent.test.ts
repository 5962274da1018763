import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgentProcess, waitForEvent } from '../support/agent-process.js';
import { startCredentialsEndpoint, startExchangeEndpoint, startTaskMetadataEndpoint, type StandIn, type StandInAnswer } from '../../local/ecs-agent-endpoints.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../support/agent-tls-fixture.js';

const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/shop/0123456789abcdef0123456789abcdef';
const CREDS = { AccessKeyId: 'ASIAAGENTTESTKEY0001', SecretAccessKey: 'agent-test-secret-access-key-value', Token: 'agent-test-session-token-value', Expiration: new Date(Date.now() + 3_600_000).toISOString() };
const AUTH_TOKEN = 'container-authorization-token';
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const token = (n: number) => `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0YXNrIn0.onboarding-token-${n}`;
const issue = (n: number, lifetimeMs: number): StandInAnswer => ({ status: 200, body: { token: token(n), expiresAt: new Date(Date.now() + lifetimeMs).toISOString(), workloadGroup: 'shop/cart' } });
const TASK_NOT_RUNNING: StandInAnswer = { status: 403, body: { reason: 'TASK_NOT_RUNNING', message: 'task 0123456789abcdef0123456789abcdef is STOPPED' } };

describe('ecs-mesh-agent (child process)', () => {
  let dir: string;
  let standIns: StandIn[];
  let env: Record<string, string>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-it-'));
    const credentials = await startCredentialsEndpoint(CREDS, { authorizationToken: AUTH_TOKEN });
    const metadata = await startTaskMetadataEndpoint(TASK_ARN);
    standIns = [credentials, metadata];
    await writeFile(join(dir, 'auth-token'), AUTH_TOKEN);
    env = {
      AWS_REGION: 'us-east-1',
      ECS_CONTAINER_METADATA_URI_V4: metadata.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, 'auth-token'),
      ONBOARDING_SERVER_ID: 'it-mesh',
      ONBOARDING_TOKEN_PATH: join(dir, 'run/ecs-mesh/token'),
    };
  });
  afterEach(async () => {
    await Promise.all(standIns.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  const exchangeAt = async (answer: (n: number) => StandInAnswer, tls = false) => {
    const exchange = await startExchangeEndpoint((_r, n) => answer(n), tls ? { tls: { key: TEST_TLS_KEY, cert: TEST_TLS_CERT } } : {});
    standIns.push(exchange);
    const { port } = new URL(exchange.url);
    const endpoint = tls ? `{ host: 127.0.0.1, port: ${port} }` : `{ host: 127.0.0.1, port: ${port}, scheme: http }`;
    env.ONBOARDING_CONFIG = `onboardingEndpoint: ${endpoint}\nworkloadGroup: { namespace: shop, name: cart }\nworkload: { labels: { version: v2 } }\n`;
    return exchange;
  };

  it('writes the token, refreshes it at ~2/3 of its life, then exits 1 on a permanent refusal', async () => {
    const exchange = await exchangeAt((n) => (n === 0 ? issue(1, 3000) : TASK_NOT_RUNNING));

    const agent = startAgentProcess(env);
    await waitForEvent(agent, (e) => e.event === 'token.written');
    const written = await readFile(env.ONBOARDING_TOKEN_PATH!, 'utf8');
    const mode = (await stat(env.ONBOARDING_TOKEN_PATH!)).mode & 0o777;
    const code = await agent.exited;

    expect(written).toBe(token(1));
    expect(mode).toBe(0o400);
    expect(code).toBe(1);
    expect(exchange.requests).toHaveLength(2);
    const refreshGap = exchange.requests[1]!.at - exchange.requests[0]!.at;
    expect(refreshGap).toBeGreaterThan(1500);
    expect(refreshGap).toBeLessThan(3000);
    expect(agent.events().at(-1)).toMatchObject({ level: 'error', event: 'exchange.refused', status: 403, reason: 'TASK_NOT_RUNNING', permanent: true });
    const output = agent.output();
    for (const secret of [token(1), CREDS.SecretAccessKey, CREDS.Token, AUTH_TOKEN]) expect(output).not.toContain(secret);
  });

  it('sends the signed exchange request the server expects', async () => {
    const exchange = await exchangeAt(() => issue(1, 3_600_000));

    const agent = startAgentProcess(env, ['--once']);
    const code = await agent.exited;

    expect(code).toBe(0);
    const request = exchange.requests[0]!;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/auth/exchange' });
    expect(request.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(body).toMatchObject({ iam_http_request_method: 'POST', taskArn: TASK_ARN, workloadGroup: 'shop/cart', labels: { version: 'v2' } });
    expect(decode(body.iam_request_url as string)).toBe('https://sts.us-east-1.amazonaws.com/');
    expect(decode(body.iam_request_body as string)).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    const headers = JSON.parse(decode(body.iam_request_headers as string)) as Record<string, string[]>;
    expect(headers['x-ecsmesh-server-id']).toEqual(['it-mesh']);
    expect(headers['x-amz-security-token']).toEqual([CREDS.Token]);
    expect(headers.authorization![0]).toContain(`Credential=${CREDS.AccessKeyId}/`);
    expect(headers.authorization![0]).toMatch(/SignedHeaders=[^,]*x-ecsmesh-server-id/);
    expect(await readFile(env.ONBOARDING_TOKEN_PATH!, 'utf8')).toBe(token(1));
  });

  it('retries a transient failure, then exchanges over https trusting ONBOARDING_AGENT_ROOT_CERTS', async () => {
    const exchange = await exchangeAt((n) => (n === 0 ? { status: 503, body: { reason: 'STS_UNAVAILABLE', message: 'STS timed out' } } : issue(2, 3_600_000)), true);
    await writeFile(join(dir, 'roots.pem'), TEST_TLS_CERT);

    const agent = startAgentProcess({ ...env, ONBOARDING_AGENT_ROOT_CERTS: join(dir, 'roots.pem') }, ['--once']);
    const code = await agent.exited;

    expect(code).toBe(0);
    expect(exchange.requests).toHaveLength(2);
    expect(agent.events().map((e) => e.event)).toEqual(['agent.started', 'exchange.failed', 'token.written']);
    expect(await readFile(env.ONBOARDING_TOKEN_PATH!, 'utf8')).toBe(token(2));
  });

  it('survives an expiresAt of 1e20: logs a malformed answer, writes nothing and asks again after a backoff', async () => {
    const exchange = await exchangeAt((n) => (n === 0 ? { status: 200, body: { token: token(1), expiresAt: 1e20 } } : TASK_NOT_RUNNING));

    const agent = startAgentProcess(env);
    const code = await agent.exited;

    expect(code).toBe(1);
    expect(exchange.requests).toHaveLength(2);
    expect(agent.events().map((e) => e.event)).toEqual(['agent.started', 'exchange.failed', 'exchange.refused']);
    expect(agent.events()[1]).toMatchObject({ code: 'MALFORMED_ANSWER', message: 'exchange answered 200 with expiresAt 100000000000000000000, which is not a time' });
    await expect(stat(env.ONBOARDING_TOKEN_PATH!)).rejects.toThrow(/ENOENT/);
  });

  it('exits 0 promptly on SIGTERM while waiting to refresh', async () => {
    await exchangeAt(() => issue(1, 3_600_000));
    const agent = startAgentProcess(env);
    await waitForEvent(agent, (e) => e.event === 'token.written');

    const sent = Date.now();
    agent.child.kill('SIGTERM');
    const code = await agent.exited;

    expect(code).toBe(0);
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(agent.events().at(-1)).toMatchObject({ event: 'agent.stopped' });
  });

  it('runs with a TSB configuration as it is, warning once per TSB setting it ignores', async () => {
    const exchange = await exchangeAt(() => issue(1, 3_600_000));
    const tsb = `apiVersion: config.agent.onboarding.tetrate.io/v1alpha1\nkind: OnboardingConfiguration\n${env.ONBOARDING_CONFIG}settings: { connectedOver: VPC }\n`;

    const agent = startAgentProcess({ ...env, ONBOARDING_CONFIG: tsb }, ['--once']);

    expect(await agent.exited).toBe(0);
    expect(agent.events().filter((e) => e.event === 'config.ignored')).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('settings') })]);
    expect(exchange.requests).toHaveLength(1);
  });

  it('exits 2 on a bad configuration without calling anything', async () => {
    const exchange = await exchangeAt(() => issue(1, 3_600_000));

    const agent = startAgentProcess({ ...env, ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"onboarding.example.com","scheme":"http"}}' });
    const code = await agent.exited;

    expect(code).toBe(2);
    expect(agent.events()).toEqual([expect.objectContaining({ event: 'config.invalid', message: expect.stringContaining('onboardingEndpoint.scheme') })]);
    expect(exchange.requests).toHaveLength(0);
    expect(standIns[0]!.requests).toHaveLength(0);
  });
});
