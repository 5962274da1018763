/**
 * `ecs-mesh`, the operator CLI of the HTTP API, as a function of argv and its I/O, so tests run
 * it in-process with their own environment and streams.
 */
import { standardCredentials, type CredentialSource } from '../api/signed-fetch.js';
import { createApiClient } from './api-client.js';
import { parseInvocation, type Command } from './args.js';
import { resolveEndpoint } from './endpoint.js';
import { describeFailure, EXIT_CODES, UsageError, type ExitCode } from './errors.js';
import { deletePolicy } from './commands/policy-delete.js';
import { applyPolicies } from './commands/policy-apply.js';
import { getPolicy, listPolicies, policyHistory } from './commands/policy-read.js';
import { explain } from './commands/explain.js';
import { getEnrollment, listEnrollments } from './commands/enrollments.js';
import { reconcile } from './commands/reconcile.js';
import { exportKeys, listKeys, rotateKeys } from './commands/keys.js';
import { listDeadLetters, replayDeadLetters } from './commands/dlq.js';
import type { CommandContext } from './commands/context.js';
import { USAGE } from './usage.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Where relative `-f` paths are read from. */
  cwd: string;
  /** Credentials for a profile; the standard AWS chain unless a test gives its own. */
  credentials?: (profile: string | undefined) => CredentialSource;
}

/** Runs one command line and returns its exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: string[], io: CliIo): Promise<ExitCode> {
  let context: CommandContext;
  let command: Command;
  try {
    const invocation = parseInvocation(argv);
    command = invocation.command;
    if (command.name === 'help') {
      io.stdout(USAGE);
      return EXIT_CODES.OK;
    }
    const endpoint = resolveEndpoint(invocation, io.env);
    const credentials = (io.credentials ?? standardCredentials)(invocation.profile);
    context = { client: createApiClient({ ...endpoint, credentials }), output: invocation.output, stdout: io.stdout, stderr: io.stderr, cwd: io.cwd };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`error: ${error.message}\n\n${USAGE}`);
    return EXIT_CODES.USAGE;
  }
  try {
    return await run(command, context);
  } catch (error) {
    const lines = describeFailure(error);
    if (!lines) throw error;
    io.stderr(lines.map((l) => `${l}\n`).join(''));
    return EXIT_CODES.FAILED;
  }
}

function run(command: Exclude<Command, { name: 'help' }>, ctx: CommandContext): Promise<ExitCode> {
  switch (command.name) {
    case 'policy apply':
      return applyPolicies(command.files, ctx);
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
