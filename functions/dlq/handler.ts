/** dlq Lambda: `GET /v1/dlq` and `POST /v1/dlq/replay` (IAM), the task-events DLQ for operators. */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { SqsDeadLetterQueue } from '../../shared/adapters/sqs-dead-letter-queue.js';
import type { DeadLetterQueue } from '../../shared/ports.js';
import { requireIamCaller } from '../http/edge.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { routeDlqRequest } from './routes.js';

/** Builds the handler around a ready queue (tests and the local stack use this). */
export function createDlqHandler(queue: DeadLetterQueue, logger: Logger, metrics: Metrics = functionMetrics('dlq')) {
  const deps = { queue, log: powertoolsLog(logger) };
  return middy(async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => routeDlqRequest(event, deps, new Date()))
    .use(observe(logger, metrics))
    .use(requireIamCaller('the DLQ routes'))
    .use(internalErrorAs500(logger, 'dead-letter request'));
}

const config = loadConfig('dlq');
const logger = new Logger({ serviceName: 'dlq', logLevel: config.LOG_LEVEL });

export const handler = createDlqHandler(new SqsDeadLetterQueue(new SQSClient(clientConfig(config)), config.DEAD_LETTER_QUEUE_URL, config.TASK_EVENTS_QUEUE_URL), logger);
