/**
 * names Lambda (docs/architecture.md#mesh-names): one refresh of the mesh names, every minute and
 * whenever the reconciler is asked to look at a group (a declaration changed). Reserved
 * concurrency 1 in serverless.yml: refreshes never overlap, so Route53's per-account rate is
 * shared by one pace.
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
