/**
 * Issuer discovery (docs/architecture.md#tokens): the OpenID provider metadata and the JWKS, public and
 * unauthenticated, so istiod, Kuma and any JWT library can find and verify our tokens.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { PublishedKeys } from '../../shared/ports.js';
import { JWKS_MAX_AGE_SECONDS } from '../../shared/core/token-lifetime.js';

export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/.well-known/jwks.json';

/** Claims our two profiles put in tokens (istio: sub/aud/iss…; kuma: Name, Mesh, Tags, Type). */
const CLAIMS_SUPPORTED = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'Name', 'Mesh', 'Tags', 'Type'];

// 300 s is safe both ways: a retired key is published until every token it signed has expired,
// and a rotated-in key is published as pending for KEY_PREPUBLISH_SECONDS (default 1 h, more than
// istiod's 20-minute refresh + this max-age + discovery's 30 s cache; the deploy refuses less than
// this max-age: MIN_KEY_PREPUBLISH_SECONDS) before it signs, so a
// cached JWKS never lacks a key a live token needs. Only the first key of a new stack (and an
// emergency rotation) signs at once; verifiers that refetch on an unknown kid cope with that.
const CACHE_CONTROL = `public, max-age=${JWKS_MAX_AGE_SECONDS}`;

const json = (statusCode: number, body: unknown, cache = true): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...(cache ? { 'cache-control': CACHE_CONTROL } : {}) },
  body: JSON.stringify(body),
});

/** The OpenID provider metadata for `issuerUrl` (no trailing slash). */
export function openIdConfiguration(issuerUrl: string) {
  return {
    issuer: issuerUrl,
    jwks_uri: `${issuerUrl}${JWKS_PATH}`,
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    claims_supported: CLAIMS_SUPPORTED,
  };
}

/** Answers GET /.well-known/openid-configuration and GET /.well-known/jwks.json. */
export async function routeDiscoveryRequest(event: APIGatewayProxyEventV2, keys: PublishedKeys, issuerUrl: string, now: Date): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext?.http?.method;
  const path = event.requestContext?.http?.path ?? event.rawPath;
  if (path !== OPENID_CONFIGURATION_PATH && path !== JWKS_PATH) return json(404, { reason: 'NOT_FOUND', message: 'no such route' }, false);
  if (method !== 'GET') return json(405, { reason: 'METHOD_NOT_ALLOWED', message: 'only GET is supported' }, false);
  if (path === OPENID_CONFIGURATION_PATH) return json(200, openIdConfiguration(issuerUrl));
  return json(200, { keys: await keys.publicKeys(now) });
}
