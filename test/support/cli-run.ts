/** Runs `ecs-mesh` in-process with its own environment and captured output. */
import type { CredentialSource } from '../../cli/api/signed-fetch.js';
import { main } from '../../cli/mesh/main.js';
import { TEST_CREDENTIALS } from './cli-fake-api.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string>;
  cwd?: string;
  credentials?: (profile: string | undefined) => CredentialSource;
}

/** `main(argv)` with exactly `env` (nothing of the test process leaks in) and the test key. */
export async function runCli(argv: string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    credentials: options.credentials ?? (() => TEST_CREDENTIALS),
  });
  return { code, stdout, stderr };
}
