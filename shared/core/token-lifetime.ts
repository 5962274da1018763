/**
 * The longest onboarding-token lifetime a deployment may issue, and so the farthest expiry the
 * sidecar agent takes at its word (docs/architecture.md#exchange).
 *
 * The agent refreshes at up to 2/3 × 1.1 of a token's lifetime: 22 days for 30 days, which still
 * fits one Node timer (2^31−1 ms, 24.8 days; a longer delay fires after 1 ms). The agent sleeps in
 * bounded steps anyway, and clamps an answer that expires later than this to this lifetime, so a
 * hostile or buggy exchange cannot make it spin or stall; the deployment refuses a longer setting
 * so that the clamp never shortens a token the server really issued.
 */
export const MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS = 30 * 86_400;

/** How often tokenMaintenance runs (serverless.yml: `schedule: rate(1 hour)`; a unit test checks). */
export const TOKEN_MAINTENANCE_INTERVAL_SECONDS = 3600;

/** Slack for one maintenance run: its 300 s Lambda timeout, plus a schedule that fires late or a run retried. */
const TOKEN_MAINTENANCE_SLACK_SECONDS = 600;

/**
 * The shortest service-token lifetime a deployment may set (param dataPlaneTokenLifetimeSeconds).
 * A token is refreshed once less than a third of its lifetime is left (shared/core/service-token.ts),
 * and the hourly maintenance run is the refresh of last resort when no task event comes: that third
 * must outlast one interval plus its slack, or the secret holds an expired token until the next run
 * and a task started then is refused by its mesh. 3 × (3600 + 600) = 12,600 s (3.5 h).
 */
export const MIN_DATA_PLANE_TOKEN_LIFETIME_SECONDS = 3 * (TOKEN_MAINTENANCE_INTERVAL_SECONDS + TOKEN_MAINTENANCE_SLACK_SECONDS);

/** The JWKS's `Cache-Control: max-age` (functions/discovery/routes.ts). */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * The shortest time a rotated-in key may be published before it signs (param keyPrepublishSeconds):
 * the JWKS max-age. go-oidc v2 (v2.2.1, jwks.go, remoteKeySet.verify), which older istiods link,
 * honours that max-age and refuses a token with an unknown kid without refetching while its cached
 * set is fresh; go-oidc v3 refetches on an unknown kid.
 */
export const MIN_KEY_PREPUBLISH_SECONDS = JWKS_MAX_AGE_SECONDS;

/** How long discovery keeps its own published keys in memory (functions/discovery/handler.ts). */
export const DISCOVERY_KEY_CACHE_SECONDS = 30;

/**
 * The shortest prepublish time of every deployment whose keys an issuer deployment aggregates
 * (param peerJwksUrls): a peer's pending key reaches istiod through the peer's discovery cache,
 * the issuer's next read of the peer (`refreshSeconds`) and the issuer's JWKS max-age, which
 * go-oidc v2 honours. It must be there before the key signs.
 */
export function minKeyPrepublishWithPeers(refreshSeconds: number): number {
  return DISCOVERY_KEY_CACHE_SECONDS + refreshSeconds + JWKS_MAX_AGE_SECONDS;
}
