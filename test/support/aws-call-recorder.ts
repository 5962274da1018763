/**
 * Records every AWS SDK call a function makes during the integration tests, for the IAM check in
 * test/iam/ (docs/architecture.md#local-aws: moto enforces no IAM, so the calls are checked against
 * the generated template instead).
 *
 * A call belongs to a function when it runs inside `asFunction(...)` (or a handler wrapped by
 * `asHandler`): the test names the function whose role would make it on AWS, with the physical
 * names and stack params that role would be resolved with. Calls outside such a scope (test setup,
 * assertions) are not recorded. The recorder hooks the SDK's one `Client.prototype.send`, so every
 * client is covered, those the code under test creates itself included.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The serverless.yml function keys whose roles the check knows. */
export type FunctionName = 'taskEvents' | 'enrollments' | 'policies' | 'explain' | 'auth' | 'discovery' | 'keys' | 'tokenMaintenance' | 'reconcile' | 'dlq' | 'names';

/** Who makes the calls, and what the template's Refs resolve to for them. */
export interface CallScope {
  fn: FunctionName;
  /** Template parameters (e.g. TokenSecretPrefix) as this function was configured. */
  params?: Record<string, string>;
  /** Physical names of the stack's resources by logical id (table names, queue names). */
  names?: Record<string, string>;
}

/** One recorded SDK call, as written to the log (one JSON object a line). */
export interface RecordedCall extends CallScope {
  kind: 'call';
  client: string;
  command: string;
  input: unknown;
  /** Access key the client signs with: the function's own, or credentials it obtained (AssumeRole). */
  accessKeyId: string;
  file: string;
}

export const CALL_LOG = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.vitest-aws-calls', 'calls.jsonl');
/** The access key of the function's own role in the tests (moto's; see local/moto.ts). */
export const OWN_ACCESS_KEY = 'testing';

const scope = new AsyncLocalStorage<CallScope>();
const RECORDING = Symbol.for('ecs-mesh.test.aws-call-recorder');
type Hooked = { middlewareStack: { add: (mw: unknown, options: object) => void }; config: { credentials?: () => Promise<{ accessKeyId: string }> } };
let currentFile = 'unknown';
/** Clients that already carry the recording middleware. */
const hooked = new WeakSet<Hooked>();

/** Runs `fn` as `who`: every SDK call it makes is recorded for that function. */
export function asFunction<T>(who: CallScope, fn: () => T): T {
  return scope.run(who, fn);
}

/** Wraps a handler so that each invocation runs as `who`. */
export function asHandler<A extends unknown[], R>(who: CallScope, handler: (...args: A) => R): (...args: A) => R {
  return (...args) => scope.run(who, () => handler(...args));
}

/** Marks that a test file ran with the recorder, so the check can tell a full run from a partial one. */
export interface FileMarker {
  kind: 'file';
  file: string;
}

function record(line: RecordedCall | FileMarker): void {
  mkdirSync(dirname(CALL_LOG), { recursive: true });
  appendFileSync(CALL_LOG, `${JSON.stringify(line)}\n`);
}

/** The one `send` every SDK v3 client inherits (from the shared smithy Client class). */
function clientPrototype(): { send: (this: Hooked, ...args: unknown[]) => unknown; [RECORDING]?: true } {
  let proto: object | null = DynamoDBClient.prototype;
  while (proto && !Object.hasOwn(proto, 'send')) proto = Object.getPrototypeOf(proto) as object | null;
  if (!proto) throw new Error('aws-call-recorder: no SDK Client.prototype.send found');
  return proto as ReturnType<typeof clientPrototype>;
}

/** Installs the recorder (idempotent); `file` names the test file in the log. */
export function installAwsCallRecorder(file: string): void {
  currentFile = file;
  record({ kind: 'file', file });
  const proto = clientPrototype();
  if (proto[RECORDING]) return;
  proto[RECORDING] = true;
  const send = proto.send;
  proto.send = function sendRecorded(this: Hooked, ...args: unknown[]) {
    if (!hooked.has(this)) addRecordingMiddleware(this);
    return send.apply(this, args);
  };
}

/** Values the check never needs (tokens, keys, items) stay out of the log. */
const REDACTED = new Set(['SecretString', 'SecretBinary', 'Item', 'ExpressionAttributeValues', 'MessageBody']);
function redacted(input: unknown): unknown {
  if (!input || typeof input !== 'object') return input;
  return Object.fromEntries(Object.entries(input).map(([k, v]) => [k, REDACTED.has(k) ? '<redacted>' : v]));
}

/** Records each call of `client` made inside a function's scope, with the access key it signs with. */
function addRecordingMiddleware(client: Hooked): void {
  hooked.add(client);
  client.middlewareStack.add(
    (next: (a: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => async (a: { input: unknown }) => {
      const who = scope.getStore();
      if (who) {
        const credentials = await client.config.credentials?.();
        record({ kind: 'call', ...who, client: context.clientName ?? '', command: context.commandName ?? '', input: redacted(a.input), accessKeyId: credentials?.accessKeyId ?? '', file: currentFile });
      }
      return next(a);
    },
    { step: 'initialize', name: 'recordAwsCallForIamCheck', priority: 'high' },
  );
}
