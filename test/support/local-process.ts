/** `npm run local` as a real process, as an operator runs it, with its output captured. */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../local/moto.js';

export interface LocalProcess {
  /** The API's base URL: also the tokens' issuer. */
  issuer: string;
  aws: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Its context file (ECS_MESH_LOCAL_CONTEXT): one per process, so parallel stacks never share one. */
  contextFile: string;
  output(): string;
  /** SIGTERM (or `signal`); resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Polls `probe` until it yields a value (errors count as "not yet"). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds: number, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Starts `npm run local` on a free port and waits until it is ready. */
export async function startLocalProcess(settings: Record<string, string> | ((port: number) => Record<string, string>) = {}): Promise<LocalProcess> {
  const port = await freePort();
  const env = typeof settings === 'function' ? settings(port) : settings;
  const contextFile = env.ECS_MESH_LOCAL_CONTEXT ?? join(tmpdir(), `ecs-mesh-local-${port}-${process.pid}.json`);
  let output = '';
  const child = spawn(process.execPath, ['scripts/run.mjs', 'local'], { env: { ...process.env, AWS_ENDPOINT_URL: '', ECS_MESH_LOCAL_CONTEXT: contextFile, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const endpoint = await until('npm run local to be ready', async () => /local AWS:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 60, () => output);
  return {
    issuer: `http://127.0.0.1:${port}`,
    aws: { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
    contextFile,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
