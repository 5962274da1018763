/**
 * Starts moto in server mode on a free 127.0.0.1 port (docs/architecture.md#local-aws). The SDK clients reach it
 * through `AWS_ENDPOINT_URL`, the same code path as production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
// @ts-expect-error -- plain ESM helper shared with the npm scripts
import { ensureVenv, venvBin } from '../scripts/ensure-venv.mjs';

export interface MotoServer {
  endpoint: string;
  /** Forgets every resource (moto's reset API) so each test file starts clean. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Credentials moto accepts; never real ones. */
export const LOCAL_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
} as const;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMoto(options: { port?: number; quiet?: boolean } = {}): Promise<MotoServer> {
  ensureVenv({ quiet: options.quiet ?? true });
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(venvBin('moto_server') as string, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...LOCAL_AWS_ENV },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitUntilUp(endpoint, child, () => stderr);
  await pinTaskLifecycle(endpoint);
  return {
    endpoint,
    reset: () => resetMoto(endpoint),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      // Never leave a server behind: escalate if it does not go within 5 s.
      const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(escalate);
    },
  };
}

/** Empties a running moto and re-applies the task lifecycle pin. */
export async function resetMoto(endpoint: string): Promise<void> {
  await motoApi(endpoint, '/moto-api/reset', {});
  await pinTaskLifecycle(endpoint);
}

/**
 * moto advances an ECS task one state per DescribeTasks call by default, so merely watching a
 * RUNNING task would stop it. Freeze the progression: tasks stay RUNNING until StopTask.
 */
async function pinTaskLifecycle(endpoint: string): Promise<void> {
  await motoApi(endpoint, '/moto-api/state-manager/set-transition', {
    model_name: 'ecs::task',
    transition: { progression: 'manual', times: 1_000_000_000 },
  });
}

async function motoApi(endpoint: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(endpoint + path, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`moto ${path} answered ${res.status}: ${await res.text()}`);
}

async function waitUntilUp(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto server exited (${child.exitCode}): ${stderr()}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`moto server did not answer on ${endpoint} within 30 s: ${stderr()}`);
}
