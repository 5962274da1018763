/** task-events Lambda: ECS Task State Change events from SQS (docs/architecture.md#enrollment). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, createAwsClients, dynamoClient, ecsClient, iamClient, secretsClient, sqsClient, stsClient } from '../../shared/adapters/wiring.js';
import { SqsDeadLetterSink } from '../../shared/adapters/sqs-dead-letter-sink.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { batchMetrics } from '../../shared/core/batch-metrics.js';
import { emitMetrics } from '../observe/emit-metrics.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { processTaskEventBatch, type TaskEventsDeps } from './process-batch.js';

/** Builds the handler around ready dependencies (used by tests and the local stack). */
export function createTaskEventsHandler(deps: TaskEventsDeps, logger: Logger, metrics: Metrics = functionMetrics('task-events')) {
  return middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const now = new Date();
    const { batchItemFailures, result, setAside } = await processTaskEventBatch(event.Records ?? [], deps, now);
    emitMetrics(metrics, batchMetrics({ outcomes: result.outcomes, eventTimes: result.eventTimes, setAside }, now));
    return { batchItemFailures };
  }).use(observe(logger, metrics));
}

const config = loadConfig('taskEvents');
const logger = new Logger({ serviceName: 'task-events', logLevel: config.LOG_LEVEL });
const clients = createAwsClients(config, { dynamo: dynamoClient, ecs: ecsClient, iam: iamClient, sts: stsClient, secrets: secretsClient, sqs: sqsClient });

export const handler = createTaskEventsHandler(
  {
    ...buildEnrollmentDeps(config, powertoolsLog(logger), clients),
    deadLetters: config.DEAD_LETTER_QUEUE_URL ? new SqsDeadLetterSink(clients.sqs, config.DEAD_LETTER_QUEUE_URL) : undefined,
  },
  logger,
  functionMetrics('task-events'),
);
