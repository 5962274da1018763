import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aPolicy } from '../fixtures/builders.js';
import { startFakeApi, TEST_CREDENTIALS, type FakeApi } from '../support/cli-fake-api.js';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs cli/ecs-mesh.ts as its own process with exactly `env` (plus PATH). */
function ecsMesh(args: string[], env: Record<string, string>): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/ecs-mesh.ts', ...args], { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('cli/ecs-mesh.ts as a process', () => {
  let api: FakeApi;
  beforeAll(async () => {
    api = await startFakeApi('eu-west-1');
    api.seedPolicy(aPolicy());
  });
  afterAll(() => api.close());

  it('signs with the standard credential chain and exits 0, 1 or 2', async () => {
    // Static keys in the environment, and no shared config files or instance metadata to fall back on.
    const env = { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };

    const [found, missing, usage] = await Promise.all([ecsMesh(['policy', 'get', 'bookinfo/allow-ratings', '-o', 'json'], env), ecsMesh(['policy', 'get', 'bookinfo/nope'], env), ecsMesh(['policy', 'list'], env)]);

    expect(found).toEqual({ code: 0, stdout: `${JSON.stringify(aPolicy(), null, 2)}\n`, stderr: '' });
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'error: 404 POLICY_NOT_FOUND: no policy bookinfo/nope\n' });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("error: missing -n NAMESPACE\nsee 'ecs-mesh policy list --help'\n");
  }, 30_000);
});
