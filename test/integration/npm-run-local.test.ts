import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/moto.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import { signedFetch } from '../../cli/api/signed-fetch.js';

describe('npm run local', () => {
  it('serves the routes on PORT, prints its URLs, and stops everything on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['scripts/run.mjs', 'local'], { env: { ...process.env, PORT: String(port), AWS_ENDPOINT_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 45_000;
    while (!output.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const res = await signedFetch(`http://127.0.0.1:${port}/v1/enrollments`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
    const body = (await res.json()) as { items: unknown[] };
    child.kill('SIGTERM');
    const code = await exited;

    expect(output).toContain(`http://127.0.0.1:${port}`);
    expect(output).toMatch(/local AWS:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(res.status).toBe(200);
    expect(body.items).toEqual([]);
    expect(code).toBe(0);
    const moto = /local AWS:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    await expect(fetch(`${moto}/moto-api/data.json`)).rejects.toThrow();
  }, 60_000);
});
