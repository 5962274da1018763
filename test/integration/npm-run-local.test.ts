import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/moto.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import { signedFetch } from '../../cli/api/signed-fetch.js';

describe('npm run local', () => {
  it('serves the routes on PORT, writes its context while it runs, and stops everything on Ctrl-C without a stack trace', async () => {
    const port = await freePort();
    const contextFile = join(tmpdir(), `ecs-mesh-npm-run-local-${port}.json`);
    // Its own process group, as a terminal runs it: Ctrl-C reaches every process of the group at once, moto included.
    const child = spawn(process.execPath, ['scripts/run.mjs', 'local'], { env: { ...process.env, PORT: String(port), AWS_ENDPOINT_URL: '', ECS_MESH_LOCAL_CONTEXT: contextFile }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 45_000;
    while (!output.includes('Ctrl-C stops everything') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const res = await signedFetch(`http://127.0.0.1:${port}/v1/enrollments`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
    const body = (await res.json()) as { items: unknown[] };
    const context = JSON.parse(readFileSync(contextFile, 'utf8')) as Record<string, unknown>;
    // Let the consumer's long poll and the event source be mid-request when moto goes.
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;

    expect(output).toContain(`http://127.0.0.1:${port}`);
    expect(output).toMatch(/local AWS:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(res.status).toBe(200);
    expect(body.items).toEqual([]);
    expect(context).toMatchObject({ version: 1, apiUrl: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { mode: 'moto', accessKeyId: 'testing', secretAccessKey: 'testing' } });
    expect(code).toBe(0);
    expect(output).toContain('[local] SIGINT: stopping');
    expect(output, output).not.toMatch(/^\s+at /m);
    expect(existsSync(contextFile)).toBe(false);
    const moto = /local AWS:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    await expect(fetch(`${moto}/moto-api/data.json`)).rejects.toThrow();
  }, 60_000);
});
