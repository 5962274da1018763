/**
 * Claims of the per-service data-plane token, by claim profile (docs/architecture.md#token-claims). Pure: the time,
 * the token id and the deployment's settings come in as arguments.
 */
import type { WorkloadGroup } from './kubernetes-types.js';
import { TOKEN_PROFILE_ANNOTATION, TOKEN_PROFILES, type TokenProfile } from './tokens.js';

/** Our own claims on istio-profile tokens, so a token names its service and mesh. */
export const WORKLOAD_GROUP_CLAIM = 'ecsmesh.io/workload-group';
/** The mesh a token was minted for (istio profile). */
export const MESH_CLAIM = 'ecsmesh.io/mesh';
/** The tag a Kuma/Kong Mesh control plane matches against the data plane's service. */
export const KUMA_SERVICE_TAG = 'kuma.io/service';
/**
 * The data-plane label Kuma ≥ 2.14 derives a MeshIdentity's SPIFFE ID from. A data plane that
 * carries it, under such an identity, is refused unless its token's `Workload` claim equals it
 * (pkg/xds/auth/universal/authenticator.go, validateWorkload).
 */
export const KUMA_WORKLOAD_LABEL = 'kuma.io/workload';

/** Registered claims both profiles carry (seconds since the epoch). */
type TimedClaims = { iat: number; nbf: number; exp: number; jti: string };

/** What istiod reads from a third-party JWT (`JWT_RULE`): issuer, audience and the Kubernetes-style subject. */
export type IstioServiceTokenClaims = TimedClaims & {
  iss: string;
  sub: string;
  aud: string[];
  [WORKLOAD_GROUP_CLAIM]: string;
  [MESH_CLAIM]: string;
};

/**
 * Kuma's `DataplaneClaims` (pkg/tokens/builtin/issuer/token.go). Kuma checks only the fields that
 * are set: an empty `Name` binds the token to no single data plane, which makes it service-wide.
 * `Workload` is set only when the group gives its data planes a `kuma.io/workload` label: Kuma
 * refuses a workload-bound token for a data plane without that label.
 */
export type KumaServiceTokenClaims = TimedClaims & {
  iss: string;
  Name: string;
  Mesh: string;
  Tags: Record<string, string[]>;
  Type: 'dataplane';
  Workload?: string;
};

/** The claim set of one profile. */
export type ServiceTokenClaims = IstioServiceTokenClaims | KumaServiceTokenClaims;

/** Everything a service token's claims depend on. */
export interface ServiceTokenClaimsInput {
  profile: TokenProfile;
  group: WorkloadGroup;
  issuer: string;
  audiences: readonly string[];
  mesh: string;
  now: Date;
  lifetimeSeconds: number;
  jti: string;
}

/** Builds the claims of a service's data-plane token for its profile. */
export function serviceTokenClaims(input: ServiceTokenClaimsInput): ServiceTokenClaims {
  const { group, now, lifetimeSeconds, jti } = input;
  const iat = Math.floor(now.getTime() / 1000);
  const timed: TimedClaims = { iat, nbf: iat, exp: iat + lifetimeSeconds, jti };
  const { namespace, name } = group.metadata;
  switch (input.profile) {
    case 'istio':
      return {
        ...timed,
        iss: input.issuer,
        sub: `system:serviceaccount:${namespace}:${group.spec.template?.serviceAccount || 'default'}`,
        aud: [...input.audiences],
        [WORKLOAD_GROUP_CLAIM]: `${namespace}/${name}`,
        [MESH_CLAIM]: input.mesh,
      };
    case 'kuma':
      // Kuma's validator sets no issuer or audience option, so `iss` is parsed and ignored;
      // we keep it so the token still says who minted it.
      return { ...timed, iss: input.issuer, Name: '', Mesh: input.mesh, Tags: { [KUMA_SERVICE_TAG]: [name] }, Type: 'dataplane', ...kumaWorkload(group) };
    default: {
      const unreachable: never = input.profile;
      throw new Error(`unknown token profile ${String(unreachable)}`);
    }
  }
}

/**
 * The group's `kuma.io/workload` label (spec.metadata.labels over spec.template.labels, as the
 * entries get them) as the `Workload` claim. Only the group decides it: a task's label tags can
 * add labels, but must never choose the workload identity its token is bound to.
 */
function kumaWorkload(group: WorkloadGroup): { Workload?: string } {
  const workload = group.spec.metadata?.labels?.[KUMA_WORKLOAD_LABEL] ?? group.spec.template?.labels?.[KUMA_WORKLOAD_LABEL];
  return workload ? { Workload: workload } : {};
}

/** The profile a group's tokens use, and the annotation value ignored on the way (for the log). */
export interface ProfileChoice {
  profile: TokenProfile;
  ignoredAnnotation?: string;
}

/** The group's `ecsmesh.io/token-profile` annotation wins when it names a known profile. */
export function profileFor(group: WorkloadGroup, deploymentDefault: TokenProfile): ProfileChoice {
  const requested = group.metadata.annotations?.[TOKEN_PROFILE_ANNOTATION];
  if (requested === undefined) return { profile: deploymentDefault };
  if (isTokenProfile(requested)) return { profile: requested };
  return { profile: deploymentDefault, ignoredAnnotation: requested };
}

function isTokenProfile(value: string): value is TokenProfile {
  return (TOKEN_PROFILES as readonly string[]).includes(value);
}
