/**
 * Configuration, read and validated once at cold start so a broken deploy fails at init
 * with the variable named. No other module reads process.env.
 */
import * as z from 'zod/mini';
import './core/zod-messages.js';
import { ConfigError } from './errors.js';


const nonEmpty = () => z.string().check(z.minLength(1));
const seconds = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);

const EnvSchema = z
  .object({
    AWS_REGION: z._default(nonEmpty(), 'us-east-1'),
    /** Local AWS (moto) or any custom endpoint; unset on AWS. */
    AWS_ENDPOINT_URL: z.optional(z.url()),
    POLICY_TABLE: z._default(nonEmpty(), 'ecs-mesh-policies'),
    /** The audit trail of policy changes (pk `policy`, sk `revision`). */
    POLICY_AUDIT_TABLE: z._default(nonEmpty(), 'ecs-mesh-policy-audit'),
    ENROLLMENT_TABLE: z._default(nonEmpty(), 'ecs-mesh-enrollments'),
    /** Queue where malformed records are set aside with their reason (the task-events DLQ). */
    DEAD_LETTER_QUEUE_URL: z.optional(nonEmpty()),
    MESH_API: z._default(z.enum(['file', 'kubernetes']), 'file'),
    MESH_FILE_DIR: z._default(nonEmpty(), '.local/mesh'),
    MESH_K8S_URL: z.optional(z.url()),
    /** PEM of the cluster CA; when unset the system trust store is used. */
    MESH_K8S_CA_PEM: z.optional(z.string()),
    MESH_K8S_AUTH: z._default(z.enum(['eks', 'bearer']), 'bearer'),
    MESH_K8S_EKS_CLUSTER_NAME: z.optional(z.string()),
    /** Secret holding the bearer token (plain string or JSON `{ "token": ... }`). */
    MESH_K8S_TOKEN_SECRET_ID: z.optional(z.string()),
    MESH_K8S_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 5000),
    TOMBSTONE_TTL_SECONDS: seconds(86_400),
    ROLE_CACHE_SECONDS: seconds(60),
    WORKLOAD_GROUP_CACHE_SECONDS: seconds(10),
    POLICY_CACHE_SECONDS: seconds(5),
    /** Role assumed in another account to read a task role that lives there. */
    CROSS_ACCOUNT_ROLE_NAME: z.optional(z.string()),
    /** Secrets live under `<prefix>/`: `<prefix>/signing-keys`, `<prefix>/<namespace>/<group>`. */
    TOKEN_SECRET_PREFIX: z._default(z.string().check(z.regex(/^[A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*$/, 'must be a secret name path')), 'ecs-mesh'),
    SIGNING_ALG: z._default(z.enum(['RS256', 'ES256']), 'RS256'),
    /** How long a Lambda keeps the signing keys (private key included) in memory. */
    KEY_CACHE_SECONDS: seconds(300),
    /**
     * How long a rotated-in key is published before it signs. The default covers istiod's JWKS
     * refresh (20 min) + discovery's cache (30 s) + the JWKS max-age (300 s), with margin; Kuma
     * deployments that roll static keys into the CP config need hours or days.
     */
    KEY_PREPUBLISH_SECONDS: seconds(3600),
    DATA_PLANE_TOKEN_LIFETIME_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(60)), 86_400),
    ONBOARDING_TOKEN_LIFETIME_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(60)), 3600),
    /** A service's token secret is deleted after it has had no allowed task this long. */
    TOKEN_SECRET_IDLE_SECONDS: seconds(7 * 86_400),
    /** The API's base URL: the `iss` of every token and where the JWKS is published. */
    ISSUER_URL: z._default(z.url(), 'http://127.0.0.1:3000'),
    /** Default claim profile; a WorkloadGroup may override it with the annotation ecsmesh.io/token-profile. */
    TOKEN_PROFILE: z._default(z.enum(['istio', 'kuma']), 'istio'),
    /** Comma-separated `aud` values for the istio profile (istiod's JWT_RULE audiences). */
    TOKEN_AUDIENCES: z._default(nonEmpty(), 'istio-ca'),
    /** The mesh's name: Kuma's `Mesh` claim and the istio profile's mesh claim. */
    MESH_NAME: z._default(nonEmpty(), 'default'),
    /** This deployment's server ID: agents sign it in the x-ecsmesh-server-id header. */
    AUTH_AUDIENCE: z._default(nonEmpty(), 'ecs-mesh-onboarding'),
    /** Comma-separated 12-digit accounts whose tasks may use the exchange; empty = this account only. */
    AUTH_ALLOWED_ACCOUNTS: z._default(z.string(), ''),
    EXCHANGE_MAX_AGE_SECONDS: seconds(300),
    EXCHANGE_MAX_SKEW_SECONDS: seconds(60),
    /** Local runs only: the STS endpoint (moto) the exchange sends to instead of AWS's. */
    STS_LOCAL_ENDPOINT: z.optional(z.url()),
    STS_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.positive()), 5000),
    /** DynamoDB table for replay markers and rate-limit counters (TTL on `expiresAt`). */
    AUTH_TABLE: z._default(nonEmpty(), 'ecs-mesh-auth'),
    /** Exchanges allowed per task, and per source address, per minute. */
    EXCHANGE_RATE_PER_TASK: z._default(z.coerce.number().check(z.int(), z.positive()), 10),
    EXCHANGE_RATE_PER_SOURCE: z._default(z.coerce.number().check(z.int(), z.positive()), 120),
    LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  })
  .check(
    z.superRefine((env, ctx) => {
      // Kuma and Kong Mesh verify data-plane tokens with RSA keys only.
      if (env.TOKEN_PROFILE === 'kuma' && env.SIGNING_ALG !== 'RS256')
        ctx.addIssue({ code: 'custom', path: ['SIGNING_ALG'], message: 'must be RS256 when TOKEN_PROFILE=kuma' });
      if (env.MESH_API !== 'kubernetes') return;
      if (!env.MESH_K8S_URL) ctx.addIssue({ code: 'custom', path: ['MESH_K8S_URL'], message: 'required when MESH_API=kubernetes' });
      if (env.MESH_K8S_AUTH === 'eks' && !env.MESH_K8S_EKS_CLUSTER_NAME)
        ctx.addIssue({ code: 'custom', path: ['MESH_K8S_EKS_CLUSTER_NAME'], message: 'required when MESH_K8S_AUTH=eks' });
      if (env.MESH_K8S_AUTH === 'bearer' && !env.MESH_K8S_TOKEN_SECRET_ID)
        ctx.addIssue({ code: 'custom', path: ['MESH_K8S_TOKEN_SECRET_ID'], message: 'required when MESH_K8S_AUTH=bearer' });
    }),
  );

export type Config = Readonly<z.infer<typeof EnvSchema>>;

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(result.data);
}
