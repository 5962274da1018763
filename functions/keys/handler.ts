/** keys Lambda: signing key rotation by EventBridge schedule and `POST /v1/keys/rotate`, and `GET /v1/keys` (IAM). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { requireIamCaller } from '../http/edge.js';
import { internalErrorAs500 } from '../http/internal-error.js';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { createJwks, createKeyStores } from '../../shared/adapters/key-store-factory.js';
import { TOKEN_PROFILES, type TokenProfile } from '../../shared/core/tokens.js';
import { isScheduledEvent, rotateAudited, routeKeysRequest, type KeysDeps, type KeysEvent, type ProfileChange } from './routes.js';

/** Builds the handler around ready key stores (tests and the local stack use this). */
export function createKeysHandler(deps: Omit<KeysDeps, 'log'>, logger: Logger, metrics: Metrics = functionMetrics('keys')) {
  const full: KeysDeps = { ...deps, log: powertoolsLog(logger) };
  return middy(async (event: KeysEvent): Promise<ProfileChange[] | APIGatewayProxyStructuredResultV2> => {
    // A failed scheduled rotation throws, so Lambda's async retries and the error metric see it.
    if (isScheduledEvent(event)) return rotateAudited(full, 'schedule', new Date());
    return routeKeysRequest(event, full, new Date());
  })
    .use(observe(logger, metrics))
    .use(requireIamCaller('the keys routes'))
    .use(internalErrorAs500(logger, 'keys request'));
}

const config = loadConfig('keys');
const logger = new Logger({ serviceName: 'keys', logLevel: config.LOG_LEVEL });
const secrets = new SecretsManagerClient(clientConfig(config));
const published = Object.fromEntries(TOKEN_PROFILES.map((p) => [p, createJwks(config, secrets, 0, p)])) as Record<TokenProfile, ReturnType<typeof createJwks>>;

export const handler = createKeysHandler({ stores: createKeyStores(config, secrets), published, defaultProfile: config.TOKEN_PROFILE }, logger);
