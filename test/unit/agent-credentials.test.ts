import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContainerCredentialsProvider } from '../../cli/agent/credentials.js';
import { createTaskArnReader } from '../../cli/agent/task-metadata.js';
import { startCredentialsEndpoint, startTaskMetadataEndpoint, type StandIn } from '../../local/ecs-agent-endpoints.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const CREDS = { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret-key-value', Token: 'session-token-value', Expiration: '2026-03-01T13:00:00Z' };
const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/shop/0123456789abcdef';

describe('ECS endpoints', () => {
  const opened: StandIn[] = [];
  const open = async (standIn: Promise<StandIn>) => {
    const s = await standIn;
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('reads the task role credentials and keeps them until 5 minutes before they expire', async () => {
    const endpoint = await open(startCredentialsEndpoint(CREDS));
    let now = NOW;
    const provider = createContainerCredentialsProvider({ url: endpoint.url }, () => now);

    const first = await provider();
    now = Date.parse('2026-03-01T12:54:59Z');
    await provider();
    now = Date.parse('2026-03-01T12:55:01Z');
    await provider();

    expect(first).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret-key-value', sessionToken: 'session-token-value', expiration: new Date('2026-03-01T13:00:00Z') });
    expect(endpoint.requests).toHaveLength(2);
  });

  it('sends the authorization token from its file, read afresh each time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-creds-'));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'pod-identity-token\n');
    const endpoint = await open(startCredentialsEndpoint({ ...CREDS, Expiration: '2026-03-01T12:01:00Z' }, { authorizationToken: 'pod-identity-token' }));
    const provider = createContainerCredentialsProvider({ url: endpoint.url, authorizationTokenFile: tokenFile, authorizationToken: 'ignored' }, () => NOW);

    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLE' });
    await writeFile(tokenFile, 'rotated');
    await expect(provider()).rejects.toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE', message: expect.stringContaining('401') });
    await rm(dir, { recursive: true });
  });

  it('never puts the credentials in an error message', async () => {
    const endpoint = await open(startCredentialsEndpoint({ ...CREDS, Expiration: 'tomorrow' }));
    const provider = createContainerCredentialsProvider({ url: endpoint.url }, () => NOW);

    const error = (await provider().then(
      () => new Error('resolved'),
      (e: unknown) => e,
    )) as Error;

    expect(error).toMatchObject({ code: 'CREDENTIALS_MALFORMED', message: expect.stringContaining('Expiration') });
    expect(error.message).not.toMatch(/secret-key-value|session-token-value/);
  });

  it('reads the task ARN once from the task metadata endpoint', async () => {
    const endpoint = await open(startTaskMetadataEndpoint(TASK_ARN));
    const read = createTaskArnReader(endpoint.url);

    expect(await read()).toBe(TASK_ARN);
    expect(await read()).toBe(TASK_ARN);
    expect(endpoint.requests.map((r) => r.path)).toEqual(['/v4/stand-in-container/task']);
  });

  it('treats an unreachable metadata endpoint as transient', async () => {
    const read = createTaskArnReader('http://127.0.0.1:1/v4/x');

    await expect(read()).rejects.toMatchObject({ name: 'AgentTransientError' });
  });
});
