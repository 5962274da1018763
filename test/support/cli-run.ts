/** Runs `ecs-mesh` in-process with its own environment and captured output. */
import type { CredentialSource } from '../../cli/api/signed-fetch.js';
import type { LocalContextLookup } from '../../local/context.js';
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
  /** What `-f -` reads. */
  stdin?: string;
  /** The local stack's context; none by default, whatever runs on this machine. */
  localContext?: () => LocalContextLookup;
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
    ...(options.stdin === undefined ? {} : { stdin: () => Promise.resolve(options.stdin ?? '') }),
    ...(options.localContext === undefined ? {} : { localContext: options.localContext }),
  });
  return { code, stdout, stderr };
}
