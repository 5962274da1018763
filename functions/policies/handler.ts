/** policies Lambda: the OnboardingPolicy routes of the HTTP API (IAM-authorized). Reads and writes the policy and audit tables only. */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { DynamoDbPolicyAdminStore } from '../../shared/adapters/dynamodb-policy-admin-store.js';
import type { PolicyAdminStore } from '../../shared/ports.js';
import { requireIamCaller } from '../http/edge.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import { routePolicyRequest } from './routes.js';

/** Builds the handler around a ready store (tests and the local stack use this). */
export function createPoliciesHandler(store: PolicyAdminStore, logger: Logger, now: () => Date = () => new Date(), metrics: Metrics = functionMetrics('policies')) {
  const log = powertoolsLog(logger);
  return middy(async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<APIGatewayProxyStructuredResultV2> => routePolicyRequest(event, { store, log, now }))
    .use(observe(logger, metrics))
    .use(requireIamCaller('the policy routes'))
    .use(internalErrorAs500(logger, 'policy request'));
}

const config = loadConfig('policies');
const logger = new Logger({ serviceName: 'policies', logLevel: config.LOG_LEVEL });
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(config)));

export const handler = createPoliciesHandler(new DynamoDbPolicyAdminStore(dynamo, config.POLICY_TABLE, config.POLICY_AUDIT_TABLE), logger);
