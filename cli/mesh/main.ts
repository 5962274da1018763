/**
 * `ecs-mesh`, the operator CLI of the HTTP API, as a function of argv and its I/O, so tests run
 * it in-process with their own environment and streams.
 */
import { standardCredentials, type CredentialSource } from '../api/signed-fetch.js';
import type { LocalContextLookup } from '../../local/context.js';
import { createApiClient } from './api-client.js';
import { parseInvocation, type Command, type Invocation } from './args.js';
import { resolveApiUrl, resolveEndpoint } from './endpoint.js';
import { describeFailure, EXIT_CODES, UsageError, type ExitCode } from './errors.js';
import { deletePolicy } from './commands/policy-delete.js';
import { applyPolicies } from './commands/policy-apply.js';
import { getPolicy, listPolicies, policyHistory } from './commands/policy-read.js';
import { explain } from './commands/explain.js';
import { getEnrollment, listEnrollments } from './commands/enrollments.js';
import { reconcile } from './commands/reconcile.js';
import { exportKeys, listKeys, revokeKey, rotateKeys } from './commands/keys.js';
import { listDeadLetters, replayDeadLetters } from './commands/dlq.js';
import { completionScript } from './commands/completion.js';
import { printVersion } from './commands/version.js';
import type { CommandContext } from './commands/context.js';
import { helpFor } from './usage.js';
import { visibleText } from '../terminal-text.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Where relative `-f` paths are read from. */
  cwd: string;
  /** What `-f -` reads; none: stdin cannot be read. */
  stdin?: () => Promise<string>;
  /** Credentials for a profile; the standard AWS chain unless a test gives its own. */
  credentials?: (profile: string | undefined) => CredentialSource;
  /** The running `npm run local`, if any (its context file); none unless given. */
  localContext?: () => LocalContextLookup;
}

type ApiCommand = Exclude<Command, { name: 'help' | 'version' | 'completion' }>;

/** Runs one command line and returns its exit code (0 ok, 1 failed, 2 usage; `policy diff` 3 when something would change). */
export async function main(argv: string[], given: CliIo): Promise<ExitCode> {
  // Everything printed passes here, once: tables, lines, diffs and errors all carry the API's text.
  const io: CliIo = { ...given, stdout: (text) => given.stdout(visibleText(text)), stderr: (text) => given.stderr(visibleText(text)) };
  let commandName: string | undefined;
  try {
    const invocation = parseInvocation(argv);
    const { command } = invocation;
    commandName = command.name;
    if (command.name === 'help') {
      io.stdout(helpFor(command.topic));
      return EXIT_CODES.OK;
    }
    if (command.name === 'completion') {
      io.stdout(completionScript(command.shell));
      return EXIT_CODES.OK;
    }
    if (command.name === 'version') return await printVersion(() => resolveApiUrl(invocation, io.env, io.localContext?.()), io.stdout);
    return await run(command, contextFor(invocation, io));
  } catch (error) {
    if (error instanceof UsageError) {
      // One line, and where to look: not the whole usage.
      const command = error.command ?? commandName;
      io.stderr(`error: ${error.message}\nsee 'ecs-mesh ${command ? `${command} ` : ''}--help'\n`);
      return EXIT_CODES.USAGE;
    }
    const lines = describeFailure(error);
    if (!lines) throw error;
    io.stderr(lines.map((l) => `${l}\n`).join(''));
    return EXIT_CODES.FAILED;
  }
}

function contextFor(invocation: Invocation, io: CliIo): CommandContext {
  const endpoint = resolveEndpoint(invocation, io.env, io.localContext?.());
  // The local stack accepts only its own credentials: use them unless a --profile is asked for.
  const credentials = endpoint.localCredentials !== undefined && invocation.profile === undefined ? endpoint.localCredentials : (io.credentials ?? standardCredentials)(invocation.profile);
  const stdin = io.stdin ?? (() => Promise.reject(new Error('stdin cannot be read here')));
  return { client: createApiClient({ ...endpoint, credentials }), output: invocation.output, stdout: io.stdout, stderr: io.stderr, cwd: io.cwd, stdin };
}

function run(command: ApiCommand, ctx: CommandContext): Promise<ExitCode> {
  switch (command.name) {
    case 'policy apply':
      return applyPolicies(command.files, ctx, command.dryRun ? 'dry-run' : 'apply');
    case 'policy diff':
      return applyPolicies(command.files, ctx, 'diff');
    case 'policy get':
      return getPolicy(command.ref, ctx);
    case 'policy list':
      return listPolicies(command.namespace, ctx);
    case 'policy delete':
      return deletePolicy(command.ref, command.ifMatch, ctx);
    case 'policy history':
      return policyHistory(command.ref, command.limit, ctx);
    case 'explain':
      return explain(command.request, ctx);
    case 'enrollments list':
      return listEnrollments(command.query, command.all, ctx);
    case 'enrollments get':
      return getEnrollment(command.taskId, ctx);
    case 'reconcile':
      return reconcile(command.request, ctx);
    case 'keys list':
      return listKeys(command.selection, ctx);
    case 'keys export':
      return exportKeys(command.format, command.selection, ctx);
    case 'keys rotate':
      return rotateKeys(command.request, ctx);
    case 'keys revoke':
      return revokeKey(command.request, ctx);
    case 'dlq list':
      return listDeadLetters(command.limit, ctx);
    case 'dlq replay':
      return replayDeadLetters(command.limit, ctx);
    default:
      return assertNever(command);
  }
}

function assertNever(command: never): never {
  throw new Error(`unhandled command ${JSON.stringify(command)}`);
}
