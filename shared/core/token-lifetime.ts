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
