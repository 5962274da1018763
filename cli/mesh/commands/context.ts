/** What every command gets: the API, the chosen output format, and where to write. */
import type { ApiClient } from '../api-client.js';
import type { ExitCode } from '../errors.js';
import type { OutputFormat } from '../output.js';

export interface CommandContext {
  client: ApiClient;
  output: OutputFormat;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The directory relative `-f` paths are read from. */
  cwd: string;
  /** What `-f -` reads. */
  stdin: () => Promise<string>;
}

export type CommandResult = Promise<ExitCode>;
