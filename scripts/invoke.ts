/**
 * `npm run invoke -- task-events events/<file>.json`: runs a handler with a sample payload
 * against the stack started by `npm run local`. An EventBridge event is wrapped in an SQS
 * batch, the way the queue delivers it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { LOCAL_AWS_ENV } from '../local/moto.js';

const [fn, file] = process.argv.slice(2);
const stateFile = resolve('.local/stack.json');
if (!fn || !file) {
  console.error('usage: npm run invoke -- <task-events|enrollments> <event.json>');
  process.exit(2);
}
if (!existsSync(stateFile)) {
  console.error('no local stack is running: start it with `npm run local` in another terminal');
  process.exit(1);
}
const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, string>;
Object.assign(process.env, LOCAL_AWS_ENV, {
  AWS_ENDPOINT_URL: state.awsEndpoint,
  POLICY_TABLE: state.policyTable,
  ENROLLMENT_TABLE: state.enrollmentTable,
  DEAD_LETTER_QUEUE_URL: state.deadLetterQueueUrl,
  MESH_API: 'file',
  MESH_FILE_DIR: state.meshDir,
});
const payload = JSON.parse(readFileSync(resolve(file), 'utf8')) as Record<string, unknown>;
const context = { functionName: fn, awsRequestId: `invoke-${Date.now()}` } as Context;

if (fn === 'task-events') {
  const { handler } = await import('../functions/task-events/handler.js');
  const event = Array.isArray(payload.Records)
    ? payload
    : { Records: [{ messageId: `invoke-${Date.now()}`, receiptHandle: 'local', body: JSON.stringify(payload), attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:local', awsRegion: 'us-east-1' }] };
  console.log(JSON.stringify(await handler(event as never, context), null, 2));
} else if (fn === 'enrollments') {
  const { handler } = await import('../functions/enrollments/handler.js');
  console.log(JSON.stringify(await handler(payload as never, context), null, 2));
} else {
  console.error(`unknown function ${fn}: task-events or enrollments`);
  process.exit(2);
}
