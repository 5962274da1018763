/** token-maintenance Lambda: scheduled refresh and cleanup of per-service token secrets (docs/architecture.md#tokens). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, buildServiceTokenDeps, createAwsClients } from '../../shared/adapters/wiring.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { maintainServiceTokens, type TokenMaintenanceDeps, type TokenMaintenanceSummary } from '../../shared/app/maintain-service-tokens.js';

/** Builds the handler around ready dependencies (tests and the local stack use this). */
export function createTokenMaintenanceHandler(deps: TokenMaintenanceDeps, logger: Logger) {
  return middy(async (): Promise<TokenMaintenanceSummary> => {
    const summary = await maintainServiceTokens(deps, new Date());
    logger.info('service token maintenance done', { ...summary });
    // Failing the invocation lets Lambda's async retry and the error metric see it; a rerun is harmless.
    if (summary.failed > 0) throw new Error(`service token maintenance: ${summary.failed} secret(s) failed`);
    return summary;
  }).use(injectLambdaContext(logger));
}

const config = loadConfig();
const logger = new Logger({ serviceName: 'token-maintenance', logLevel: config.LOG_LEVEL });
const clients = createAwsClients(config);
const log = powertoolsLog(logger);
// One key store for the container: maintenance and the enrollment deps share it.
const tokens = buildServiceTokenDeps(config, log, clients);
const { enrollments, mesh } = buildEnrollmentDeps(config, log, clients, undefined, tokens);

export const handler = createTokenMaintenanceHandler(
  {
    ...tokens,
    enrollments,
    mesh,
    idleSeconds: config.TOKEN_SECRET_IDLE_SECONDS,
  },
  logger,
);
