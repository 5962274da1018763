/** keys Lambda: signing key rotation by EventBridge schedule and by `POST /v1/keys/rotate` (IAM). */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { internalErrorAs500 } from '../http/internal-error.js';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../shared/config.js';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { createKeyStore } from '../../shared/adapters/key-store-factory.js';
import type { KeySetChange } from '../../shared/core/signing-keys.js';
import { isScheduledEvent, rotateAudited, routeKeysRequest, type KeyRotator, type KeysEvent } from './routes.js';

/** Builds the handler around a ready key store (tests and the local stack use this). */
export function createKeysHandler(store: KeyRotator, logger: Logger) {
  const log = powertoolsLog(logger);
  return middy(async (event: KeysEvent): Promise<KeySetChange | APIGatewayProxyStructuredResultV2> => {
    // A failed scheduled rotation throws, so Lambda's async retries and the error metric see it.
    if (isScheduledEvent(event)) return rotateAudited(store, log, 'schedule', new Date());
    return routeKeysRequest(event, store, log, new Date());
  })
    .use(injectLambdaContext(logger))
    .use(internalErrorAs500(logger, 'key rotation request'));
}

const config = loadConfig('keys');
const logger = new Logger({ serviceName: 'keys', logLevel: config.LOG_LEVEL });
const store = createKeyStore(config, new SecretsManagerClient(clientConfig(config)));

export const handler = createKeysHandler(store, logger);
