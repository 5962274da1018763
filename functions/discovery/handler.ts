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
import { AggregatedJwks } from '../../shared/adapters/aggregated-jwks.js';
import { powertoolsLog } from '../../shared/adapters/powertools-log.js';
import { parsePeerJwksUrls } from '../../shared/core/peer-jwks.js';
import { DISCOVERY_KEY_CACHE_SECONDS } from '../../shared/core/token-lifetime.js';

/** Builds the handler around ready keys (tests and the local HTTP server use this). */
export function createDiscoveryHandler(keys: PublishedKeys, issuerUrl: string, logger: Logger, metrics: Metrics = functionMetrics('discovery'), clock: () => number = Date.now) {
  const issuer = issuerUrl.replace(/\/+$/, '');
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    return routeDiscoveryRequest(event, keys, issuer, new Date(clock()));
  })
    .use(observe(logger, metrics))
    .use(internalErrorAs500(logger, 'discovery request'));
}

// A first or emergency key signs at once, and a verifier that meets its unknown kid refetches the
// JWKS: this container must not answer from a much older copy, so it keeps the keys at most 30 s
// whatever KEY_CACHE_SECONDS the signers use (KEY_PREPUBLISH_SECONDS' default counts it in).
// (DISCOVERY_KEY_CACHE_SECONDS: a peer's new key reaches the issuer's aggregate through it.)
const PUBLIC_KEY_CACHE_SECONDS = DISCOVERY_KEY_CACHE_SECONDS;

const config = loadConfig('discovery');
const logger = new Logger({ serviceName: 'discovery', logLevel: config.LOG_LEVEL });
const jwks = createJwks(config, new SecretsManagerClient(clientConfig(config)), Math.min(config.KEY_CACHE_SECONDS, PUBLIC_KEY_CACHE_SECONDS));
// The issuer deployment of several serves its peers' keys beside its own (docs/multi-account.md#a-control-plane-per-account).
const peerJwksUrls = parsePeerJwksUrls(config.PEER_JWKS_URLS).urls;
const served =
  peerJwksUrls.length === 0
    ? jwks
    : new AggregatedJwks(jwks, { peerJwksUrls, refreshSeconds: config.PEER_JWKS_REFRESH_SECONDS, keepSeconds: config.PEER_JWKS_KEEP_SECONDS, timeoutMs: config.PEER_JWKS_TIMEOUT_MS }, powertoolsLog(logger));

export const handler = createDiscoveryHandler(served, config.ISSUER_URL, logger);
