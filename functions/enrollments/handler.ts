/** enrollments Lambda: the enrollment status routes of the HTTP API (IAM-authorized). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import type { EnrollmentStore } from '../../shared/ports.js';
import { routeEnrollmentRequest } from './routes.js';

/** Builds the handler around a ready store (tests and the local HTTP server use this). */
export function createEnrollmentsHandler(store: EnrollmentStore, logger: Logger) {
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      return await routeEnrollmentRequest(event, store);
    } catch (error) {
      // Internals never leak: the caller gets a generic 500, the log gets the cause.
      logger.error('enrollment status request failed', error as Error);
      return { statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'INTERNAL', message: 'internal error' }) };
    }
  }).use(injectLambdaContext(logger));
}

const config = loadConfig();
const logger = new Logger({ serviceName: 'enrollments', logLevel: config.LOG_LEVEL });

export const handler = createEnrollmentsHandler(new DynamoDbEnrollmentStore(DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(config))), config.ENROLLMENT_TABLE), logger);
