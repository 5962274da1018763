/** auth Lambda: POST /v1/auth/exchange, a signed GetCallerIdentity for an onboarding token (docs/architecture.md#exchange). */
import { randomUUID, createHash } from 'node:crypto';
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { buildExchangeDeps, createAwsClients, dynamoClient, ecsClient, iamClient, secretsClient, stsClient } from '../../shared/adapters/wiring.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { exchangeToken, type ExchangeDeps } from '../../shared/app/exchange-token.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import { json, requestBody } from '../http/responses.js';
import { EXCHANGE_STATUS } from './status.js';

// Tokens and refusals alike are never cached.
const noStore = (statusCode: number, body: unknown, headers: Record<string, string> = {}) => json(statusCode, body, { 'cache-control': 'no-store', ...headers });

/** Builds the handler around ready dependencies (tests and the local stack use this; tests may fix the clock). */
export function createAuthHandler(deps: ExchangeDeps, logger: Logger, metrics: Metrics, clock: () => Date = () => new Date()) {
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const body = requestBody(event);
    const outcome = await exchangeToken({ body, sourceIp: event.requestContext?.http?.sourceIp ?? 'unknown' }, deps, clock());
    metrics.addMetric(`exchange_${outcome.ok ? 'ISSUED' : outcome.reason}`, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    if (outcome.ok) return noStore(200, outcome.body);
    const retry: Record<string, string> = outcome.retryAfterSeconds ? { 'retry-after': String(outcome.retryAfterSeconds) } : {};
    return noStore(EXCHANGE_STATUS[outcome.reason], { reason: outcome.reason, message: outcome.detail }, retry);
  })
    .use(observe(logger, metrics))
    .use(internalErrorAs500(logger, 'auth exchange'));
}

const config = loadConfig('auth');
const logger = new Logger({ serviceName: 'auth', logLevel: config.LOG_LEVEL });
const metrics = functionMetrics('auth');

export const handler = createAuthHandler(
  await buildExchangeDeps(config, powertoolsLog(logger), createAwsClients(config, { dynamo: dynamoClient, ecs: ecsClient, iam: iamClient, sts: stsClient, secrets: secretsClient }), { digest: (s) => createHash('sha256').update(s).digest('hex'), newTokenId: randomUUID }),
  logger,
  metrics,
);
