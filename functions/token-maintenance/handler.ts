/** token-maintenance Lambda: scheduled refresh and cleanup of per-service token secrets (docs/architecture.md#tokens). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { buildServiceTokenDeps, buildWorkloadGroupReader, createAwsClients, dynamoClient, secretsClient } from '../../shared/adapters/wiring.js';
import { DynamoDbEnrollmentStore } from '../../shared/adapters/dynamodb-enrollment-store.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { maintainServiceTokens, type TokenMaintenanceDeps, type TokenMaintenanceSummary } from '../../shared/app/maintain-service-tokens.js';

/** Builds the handler around ready dependencies (tests and the local stack use this). */
export function createTokenMaintenanceHandler(deps: TokenMaintenanceDeps, logger: Logger, metrics: Metrics = functionMetrics('token-maintenance')) {
  return middy(async (): Promise<TokenMaintenanceSummary> => {
    const summary = await maintainServiceTokens(deps, new Date());
    logger.info('service token maintenance done', { ...summary });
    // Failing the invocation lets Lambda's async retry and the error metric see it; a rerun is harmless.
    if (summary.failed > 0) throw new Error(`service token maintenance: ${summary.failed} secret(s) failed`);
    return summary;
  }).use(observe(logger, metrics));
}

const config = loadConfig('tokenMaintenance');
const logger = new Logger({ serviceName: 'token-maintenance', logLevel: config.LOG_LEVEL });
const clients = createAwsClients(config, { dynamo: dynamoClient, secrets: secretsClient });

export const handler = createTokenMaintenanceHandler(
  {
    ...buildServiceTokenDeps(config, powertoolsLog(logger), clients),
    enrollments: new DynamoDbEnrollmentStore(clients.dynamo, config.ENROLLMENT_TABLE),
    mesh: buildWorkloadGroupReader(config, clients),
    idleSeconds: config.TOKEN_SECRET_IDLE_SECONDS,
  },
  logger,
);
