/** Token shapes shared by signing, the per-service data-plane tokens and discovery (docs/architecture.md#tokens). */

export const TOKEN_PROFILES = ['istio', 'kuma'] as const;
export type TokenProfile = (typeof TOKEN_PROFILES)[number];

/** A WorkloadGroup annotation that overrides the deployment's claim profile for its tokens. */
export const TOKEN_PROFILE_ANNOTATION = 'ecsmesh.io/token-profile';

/** The JSON kept in `<prefix>/<namespace>/<group>`; ECS injects `valueFrom: <arn>:token::`. */
export interface ServiceTokenDocument {
  token: string;
  expiresAt: string;
  issuedAt: string;
  kid: string;
  profile: TokenProfile;
  workloadGroup: string;
}

export interface SignedToken {
  token: string;
  kid: string;
  alg: string;
}

/** A public signing key as published in the JWKS. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: 'sig';
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}
