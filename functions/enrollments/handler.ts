/** enrollments Lambda: the enrollment status routes of the HTTP API (IAM-authorized). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { requireIamCaller } from '../http/edge.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import type { EnrollmentStore } from '../../shared/ports.js';
import { routeEnrollmentRequest } from './routes.js';

/** Builds the handler around a ready store (tests and the local HTTP server use this). */
export function createEnrollmentsHandler(store: EnrollmentStore, logger: Logger, metrics: Metrics = functionMetrics('enrollments')) {
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    return routeEnrollmentRequest(event, store);
  })
    .use(observe(logger, metrics))
    .use(requireIamCaller('the enrollment routes'))
    .use(internalErrorAs500(logger, 'enrollment status request'));
}

const config = loadConfig('enrollments');
const logger = new Logger({ serviceName: 'enrollments', logLevel: config.LOG_LEVEL });

export const handler = createEnrollmentsHandler(new DynamoDbEnrollmentStore(DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(config))), config.ENROLLMENT_TABLE), logger);
