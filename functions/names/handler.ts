/**
 * names Lambda (docs/architecture.md#mesh-names): one refresh of the mesh names, every minute (no
 * AWS event reports a WorkloadGroup or Service change). Its timeout is under the schedule's
 * minute, so refreshes overlap only when EventBridge delivers a schedule twice; the address book's
 * revision and the freed addresses' quarantine make that harmless. No reserved concurrency, as for
 * the other functions (serverless.yml says why).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { createAwsClients, dynamoClient, secretsClient } from '../../shared/adapters/wiring.js';
import { buildMeshNamesDeps } from '../../shared/adapters/mesh-names-wiring.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { refreshMeshNames, type MeshNamesDeps, type MeshNamesOutcome } from '../../shared/app/refresh-mesh-names.js';

/** Builds the handler around ready dependencies (tests and the local stack use this); without them (no zone) it does nothing. */
export function createNamesHandler(deps: MeshNamesDeps | undefined, logger: Logger, metrics: Metrics = functionMetrics('names')) {
  return middy(async (): Promise<MeshNamesOutcome | { off: true }> => {
    if (!deps) {
      logger.debug('mesh names are off: no meshNamesZoneId');
      return { off: true };
    }
    const outcome = await refreshMeshNames(deps);
    logger.info('mesh names refreshed', { ...outcome });
    return outcome;
  }).use(observe(logger, metrics));
}

const config = loadConfig('names');
const logger = new Logger({ serviceName: 'names', logLevel: config.LOG_LEVEL });

export const handler = createNamesHandler(buildMeshNamesDeps(config, powertoolsLog(logger), createAwsClients(config, { dynamo: dynamoClient, secrets: secretsClient })), logger);
