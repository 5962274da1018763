/**
 * `npm run invoke -- <function> [event.json]`: runs one Lambda handler, named as in serverless.yml
 * (`taskEvents`, `tokenMaintenance`, …; the directory name, `task-events`, works too), with a
 * payload, against the stack `npm run local` runs (found through its context file), with the
 * environment the local stack gives it. An EventBridge event for taskEvents is wrapped in an SQS
 * batch, the way the queue delivers it; the scheduled functions (keys, reconcile,
 * tokenMaintenance, names) get EventBridge's scheduled event when no file is given.
 *
 * Not `serverless invoke local`: the functions' environment is CloudFormation (`!Ref` of the stack's
 * tables and queues, `Fn::If` on its params), which osls resolves only against a deployed stack.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { parse } from 'yaml';
import { localContextPath, readLocalContext } from '../local/context.js';
import { LOCAL_AWS_ENV } from '../local/moto.js';
import { localFunctionEnvironment, scheduledEvent } from '../local/stack.js';

const SCHEDULED = new Set(['keys', 'reconcile', 'tokenMaintenance', 'names']);
const functions = (parse(readFileSync(resolve('serverless.yml'), 'utf8'), { logLevel: 'silent' }) as { functions: Record<string, { handler: string }> }).functions;
// `functions/task-events/handler.handler` → the module and its export.
const byName = new Map(Object.entries(functions).flatMap(([name, { handler }]) => [[name, { name, handler }], [handler.split('/')[1] ?? name, { name, handler }]] as const));
const usage = `usage: npm run invoke -- <${Object.keys(functions).join('|')}> [event.json]`;

const [fnArg, file, ...extra] = process.argv.slice(2);
const fn = fnArg === undefined ? undefined : byName.get(fnArg);
if (!fn || extra.length > 0) fail(fnArg && !fn ? `unknown function ${fnArg}\n${usage}` : usage, 2);
if (file === undefined && !SCHEDULED.has(fn.name)) fail(`${fn.name} needs an event file (${fn.name === 'taskEvents' ? 'events/*.json' : 'an API Gateway HTTP API (v2) event'})\n${usage}`, 2);

const contextFile = localContextPath();
const found = readLocalContext(contextFile);
if (found.state === 'none') fail('no local stack is running: start it with `npm run local` in another terminal', 1);
if (found.state === 'stale') fail(found.message, 1);
const { context: local } = found;
Object.assign(process.env, localFunctionEnvironment(local), LOCAL_AWS_ENV, { ISSUER_URL: local.apiUrl });

const payload: Record<string, unknown> = file === undefined ? scheduledEvent(fn.name) : (JSON.parse(readFileSync(resolve(process.env.INIT_CWD ?? '.', file), 'utf8')) as Record<string, unknown>);
const event = fn.name === 'taskEvents' && !Array.isArray(payload.Records) ? sqsBatchOf(payload) : payload;
const [modulePath, exportName = 'handler'] = splitHandler(fn.handler);
const module = (await import(resolve(`${modulePath}.ts`))) as Record<string, unknown>;
const handler = module[exportName] as (event: unknown, context: Context) => Promise<unknown>;
console.log(JSON.stringify(await handler(event, { functionName: fn.name, awsRequestId: `invoke-${Date.now()}` } as Context), null, 2));

function splitHandler(handler: string): [string, string | undefined] {
  const dot = handler.lastIndexOf('.');
  return [handler.slice(0, dot), handler.slice(dot + 1) || undefined];
}

function sqsBatchOf(body: unknown) {
  return { Records: [{ messageId: `invoke-${Date.now()}`, receiptHandle: 'local', body: JSON.stringify(body), attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:local', awsRegion: 'us-east-1' }] };
}

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}
