/** discovery Lambda: the issuer's public metadata and JWKS (docs/architecture.md#tokens), no authorization. */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { internalErrorAs500 } from '../http/internal-error.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../../shared/config.js';
import { functionMetrics, observe } from '../observe/middleware.js';
import { clientConfig } from '../../shared/adapters/client-config.js';
import { createJwks } from '../../shared/adapters/key-store-factory.js';
import type { PublishedKeys } from '../../shared/ports.js';
import { routeDiscoveryRequest } from './routes.js';

/** Builds the handler around ready keys (tests and the local HTTP server use this). */
export function createDiscoveryHandler(keys: PublishedKeys, issuerUrl: string, logger: Logger, metrics: Metrics = functionMetrics('discovery')) {
  const issuer = issuerUrl.replace(/\/+$/, '');
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    return routeDiscoveryRequest(event, keys, issuer, new Date());
  })
    .use(observe(logger, metrics))
    .use(internalErrorAs500(logger, 'discovery request'));
}

// A first or emergency key signs at once, and a verifier that meets its unknown kid refetches the
// JWKS: this container must not answer from a much older copy, so it keeps the keys at most 30 s
// whatever KEY_CACHE_SECONDS the signers use (KEY_PREPUBLISH_SECONDS' default counts it in).
const PUBLIC_KEY_CACHE_SECONDS = 30;

const config = loadConfig('discovery');
const logger = new Logger({ serviceName: 'discovery', logLevel: config.LOG_LEVEL });
const jwks = createJwks(config, new SecretsManagerClient(clientConfig(config)), Math.min(config.KEY_CACHE_SECONDS, PUBLIC_KEY_CACHE_SECONDS));

export const handler = createDiscoveryHandler(jwks, config.ISSUER_URL, logger);
