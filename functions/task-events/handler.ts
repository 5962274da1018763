/** task-events Lambda: ECS Task State Change events from SQS (docs/architecture.md#enrollment). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, createAwsClients } from '../../shared/adapters/wiring.js';
import { SqsDeadLetterSink } from '../../shared/adapters/sqs-dead-letter-sink.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { processTaskEventBatch, type TaskEventsDeps } from './process-batch.js';

/** Builds the handler around ready dependencies (used by tests and the local stack). */
export function createTaskEventsHandler(deps: TaskEventsDeps, logger: Logger, metrics?: Metrics) {
  return middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const { batchItemFailures, result } = await processTaskEventBatch(event.Records ?? [], deps, new Date());
    const ahead = result.outcomes.filter((o) => o.versionAheadOfEcs !== undefined).length;
    if (metrics && ahead > 0) {
      metrics.addMetric('EventVersionAheadOfEcs', MetricUnit.Count, ahead);
      metrics.publishStoredMetrics();
    }
    return { batchItemFailures };
  }).use(injectLambdaContext(logger));
}

const config = loadConfig('taskEvents');
const logger = new Logger({ serviceName: 'task-events', logLevel: config.LOG_LEVEL });
const clients = createAwsClients(config);

export const handler = createTaskEventsHandler(
  {
    ...buildEnrollmentDeps(config, powertoolsLog(logger), clients),
    deadLetters: config.DEAD_LETTER_QUEUE_URL ? new SqsDeadLetterSink(clients.sqs, config.DEAD_LETTER_QUEUE_URL) : undefined,
  },
  logger,
  new Metrics({ namespace: 'EcsMeshOnboarding', serviceName: 'task-events' }),
);
