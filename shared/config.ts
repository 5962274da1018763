/**
 * Configuration, read and validated once at cold start so a broken deploy fails at init
 * with the variable named. No other module reads process.env.
 *
 * Each function validates only the settings it uses: its schema is composed from the groups
 * below (FUNCTION_SETTINGS), so a function that never calls the mesh never asks for its URL,
 * and serverless.yml gives each function exactly these variables.
 */
import * as z from 'zod/mini';
import './core/zod-messages.js';
import { parseMeshNetworks } from './core/networks.js';
import { MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS } from './core/token-lifetime.js';
import { MEMBER_ROLE_NAMES_PATTERN, parseMemberRoleNames, readerRoleNameFor } from './core/member-accounts.js';
import { parseLoopbackRange } from './core/loopback-addresses.js';
import { ConfigError } from './errors.js';
import { parsePeerJwksUrls } from './core/peer-jwks.js';

/** `https://x/` and `https://x` name one issuer: keep the form without trailing slashes. */
export function normalizeIssuerUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

const nonEmpty = () => z.string().check(z.minLength(1));
const seconds = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.nonnegative()), fallback);
const positiveInt = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.positive()), fallback);
/** A token lifetime in seconds: at least a minute, and at most `max` (its message says why) when given. */
const lifetime = (fallback: number, max?: { seconds: number; why: string }) =>
  z._default(z.coerce.number().check(z.int(), z.gte(60), ...(max ? [z.lte(max.seconds, `must be at most ${max.seconds} ${max.why}`)] : [])), fallback);

/** Every function: the region, a local endpoint, the log level. */
const RUNTIME = {
  AWS_REGION: z._default(nonEmpty(), 'us-east-1'),
  /** Local AWS (moto) or any custom endpoint; unset on AWS. */
  AWS_ENDPOINT_URL: z.optional(z.url()),
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
};

const POLICY_TABLE = { POLICY_TABLE: z._default(nonEmpty(), 'ecs-mesh-policies') };
const POLICY_READS = { ...POLICY_TABLE, POLICY_CACHE_SECONDS: seconds(5) };
/** The audit trail of policy changes (pk `policy`, sk `revision`). */
const POLICY_AUDIT_TABLE = { POLICY_AUDIT_TABLE: z._default(nonEmpty(), 'ecs-mesh-policy-audit') };
const ENROLLMENT_TABLE = { ENROLLMENT_TABLE: z._default(nonEmpty(), 'ecs-mesh-enrollments') };

/** The mesh's Kubernetes API (docs/architecture.md#mesh-api); checked together by `meshRules`. */
const MESH = {
  MESH_API: z._default(z.enum(['file', 'kubernetes']), 'file'),
  MESH_FILE_DIR: z._default(nonEmpty(), '.local/mesh'),
  MESH_K8S_URL: z.optional(z.url()),
  /** PEM of the cluster CA; when unset the system trust store is used. */
  MESH_K8S_CA_PEM: z.optional(z.string()),
  MESH_K8S_AUTH: z._default(z.enum(['eks', 'bearer']), 'bearer'),
  MESH_K8S_EKS_CLUSTER_NAME: z.optional(z.string()),
  /** Secret holding the bearer token (plain string or JSON `{ "token": ... }`). */
  MESH_K8S_TOKEN_SECRET_ID: z.optional(z.string()),
  MESH_K8S_TIMEOUT_MS: positiveInt(5000),
  WORKLOAD_GROUP_CACHE_SECONDS: seconds(10),
};

/** Reading a task and its role: ECS, and IAM in the role's own account. */
const TASK_IDENTITY = {
  ROLE_CACHE_SECONDS: seconds(60),
  /** Role assumed in another account to read a task role (and task) that lives there. */
  CROSS_ACCOUNT_ROLE_NAME: z.optional(z.string()),
  /**
   * meshNetworks: `<vpc-id or account>=<network>`, comma-separated (shared/core/networks.ts); a
   * task's VPC wins over its account, either over its group template's network. Empty: the templates'.
   */
  MESH_NETWORKS: z._default(
    z.string().check(
      z.superRefine((text, ctx) => {
        const parsed = parseMeshNetworks(text);
        if (!parsed.ok) for (const problem of parsed.problems) ctx.addIssue({ code: 'custom', message: problem, input: text });
      }),
    ),
    '',
  ),
  /** Hub and spoke: the role name of a member account that deploys another (`account=role,...`); the others use CROSS_ACCOUNT_ROLE_NAME. */
  MEMBER_ROLE_NAMES: z.prefault(
    z.pipe(z.string().check(z.regex(MEMBER_ROLE_NAMES_PATTERN, 'must be account=role pairs separated by commas (12-digit accounts, role names without , or =)')), z.transform(parseMemberRoleNames)),
    '',
  ),
};

/** The signing keys' secrets; also what bounds how long a retired key stays published. */
const SIGNING_KEYS = {
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
  /**
   * The deploy refuses a lifetime under MIN_DATA_PLANE_TOKEN_LIFETIME_SECONDS and a prepublish time
   * under MIN_KEY_PREPUBLISH_SECONDS (serverless.yml's MinValue, checked before packaging); cold
   * start does not, since `npm run demo` and the tests compress time (tokens of 60 s).
   */
  DATA_PLANE_TOKEN_LIFETIME_SECONDS: lifetime(86_400),
  /** Per-task tokens go to the sidecar agent, which clamps an expiry beyond the bound (shared/core/token-lifetime.ts). */
  ONBOARDING_TOKEN_LIFETIME_SECONDS: lifetime(3600, { seconds: MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS, why: '(30 days), the longest lifetime the sidecar agent schedules' }),
};

/**
 * The API's base URL: the `iss` of every token and where the JWKS is published. Trailing slashes
 * are dropped, so discovery's `issuer` and every token's `iss` are the same string (OIDC
 * verifiers such as istiod's compare them exactly).
 */
const ISSUER = { ISSUER_URL: z._default(z.pipe(z.url(), z.transform(normalizeIssuerUrl)), 'http://127.0.0.1:3000') };

/**
 * The issuer deployment of several (docs/multi-account.md#a-control-plane-per-account): its discovery serves
 * its own keys and its peers' published ones under its one issuer URL.
 */
const PEERS = {
  /** Comma-separated peer deployments' `<api>/.well-known/jwks.json`; empty: this deployment's keys only. */
  PEER_JWKS_URLS: z._default(z.string(), ''),
  /** Each peer is read at most this often per container (the deploy bounds it by keyPrepublishSeconds). */
  PEER_JWKS_REFRESH_SECONDS: positiveInt(60),
  /** A peer's last good keys are served this long after its last good answer (its longest token lifetime + the refresh). */
  PEER_JWKS_KEEP_SECONDS: positiveInt(86_700),
  /** One read of a peer, and so the longest a discovery request waits for it. */
  PEER_JWKS_TIMEOUT_MS: positiveInt(2000),
};

/** Everything a token signer needs beyond the keys: claims and profile. */
const TOKENS = {
  ...SIGNING_KEYS,
  ...ISSUER,
  /** Default claim profile; a WorkloadGroup may override it with the annotation ecsmesh.io/token-profile. */
  TOKEN_PROFILE: z._default(z.enum(['istio', 'kuma']), 'istio'),
  /** Comma-separated `aud` values for the istio profile (istiod's JWT_RULE audiences). */
  TOKEN_AUDIENCES: z._default(nonEmpty(), 'istio-ca'),
  /** The mesh's name: Kuma's `Mesh` claim and the istio profile's mesh claim. */
  MESH_NAME: z._default(nonEmpty(), 'default'),
};

/** The auth exchange (docs/architecture.md#exchange). */
/** ecsClusters: the clusters whose tasks this deployment enrolls; comma-separated names or ARNs, empty: every cluster. */
const WATCHED_CLUSTERS = { ECS_CLUSTERS: z._default(z.string(), '') };

const EXCHANGE = {
  /** This deployment's server ID: agents sign it in the x-ecsmesh-server-id header. */
  AUTH_AUDIENCE: z._default(nonEmpty(), 'ecs-mesh-onboarding'),
  /** Comma-separated 12-digit accounts whose tasks may use the exchange; empty = this account only. */
  AUTH_ALLOWED_ACCOUNTS: z._default(z.string().check(z.regex(/^(\d{12}(,\d{12})*)?$/, 'must be 12-digit account ids separated by commas')), ''),
  /**
   * This deployment's account (the template passes AWS::AccountId): a cold container then needs
   * no STS GetCallerIdentity round trip to learn it. Unset (local runs), STS is asked.
   */
  OWN_ACCOUNT_ID: z.optional(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))),
  EXCHANGE_MAX_AGE_SECONDS: seconds(300),
  EXCHANGE_MAX_SKEW_SECONDS: seconds(60),
  /** Local runs only: the STS endpoint (moto) the exchange sends to instead of AWS's. */
  STS_LOCAL_ENDPOINT: z.optional(z.url()),
  STS_TIMEOUT_MS: positiveInt(5000),
  /** DynamoDB table for replay markers and rate-limit counters (TTL on `expiresAt`). */
  AUTH_TABLE: z._default(nonEmpty(), 'ecs-mesh-auth'),
  /** Exchanges allowed per task, and per source address, per minute. */
  EXCHANGE_RATE_PER_TASK: positiveInt(10),
  EXCHANGE_RATE_PER_SOURCE: positiveInt(120),
  /**
   * Refusals per minute of callers STS proved to be roles of the claimed task's account, per role
   * and per account: each cost a DescribeTasks of the account's Describe* quota (20 a second).
   */
  EXCHANGE_RATE_PER_ROLE: positiveInt(20),
  EXCHANGE_RATE_PER_ACCOUNT: positiveInt(120),
};

/** What deciding and writing enrollments needs: task-events and the reconciler alike. */
const ENROLLING = {
  ...RUNTIME,
  ...POLICY_READS,
  ...ENROLLMENT_TABLE,
  ...MESH,
  ...TASK_IDENTITY,
  ...TOKENS,
  TOMBSTONE_TTL_SECONDS: seconds(86_400),
  /** The deployment's server ID also names it on every entry it writes (ecsmesh.io/deployment). */
  AUTH_AUDIENCE: EXCHANGE.AUTH_AUDIENCE,
};

/** Mesh names (docs/architecture.md#mesh-names): the private hosted zone and the loopback range its records point into. */
const MESH_NAMES = {
  /** The private hosted zone of the names (meshNamesZoneId, its id `Z…`); unset: mesh names are off and the names function does nothing. */
  MESH_DNS_ZONE_ID: z.optional(nonEmpty()),
  /** The zone's name: the mesh's Service domain, `svc.<cluster domain>`. */
  MESH_DNS_ZONE_NAME: z._default(z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/, 'must be a lowercase DNS name without a trailing dot')), 'svc.cluster.local'),
  /** meshNameCidr: where the names' loopback addresses come from (inside 127.0.0.0/8, never 127.0.0.1). */
  MESH_NAME_CIDR: z._default(
    z.string().check(
      z.superRefine((text, ctx) => {
        const parsed = parseLoopbackRange(text);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem, input: text });
      }),
    ),
    '127.1.0.0/16',
  ),
};

/** The settings of each Lambda (the keys of serverless.yml's `functions`). */
export const FUNCTION_SETTINGS = {
  taskEvents: {
    ...ENROLLING,
    /** Queue where malformed records are set aside with their reason (the task-events DLQ). */
    DEAD_LETTER_QUEUE_URL: z.optional(nonEmpty()),
  },
  enrollments: { ...RUNTIME, ...ENROLLMENT_TABLE },
  /** Operators list and replay the task-events DLQ: replayed records go back to the main queue. */
  dlq: { ...RUNTIME, DEAD_LETTER_QUEUE_URL: nonEmpty(), TASK_EVENTS_QUEUE_URL: nonEmpty() },
  policies: { ...RUNTIME, ...POLICY_TABLE, ...POLICY_AUDIT_TABLE },
  /** The enrollment table: who holds an address (ADDRESS_IN_USE), as task-events sees it. */
  explain: { ...RUNTIME, ...POLICY_TABLE, ...MESH, ...TASK_IDENTITY, ...ENROLLMENT_TABLE },
  auth: { ...RUNTIME, ...POLICY_READS, ...ENROLLMENT_TABLE, ...MESH, ...TASK_IDENTITY, ...TOKENS, ...EXCHANGE, ...WATCHED_CLUSTERS },
  discovery: { ...RUNTIME, TOKEN_SECRET_PREFIX: SIGNING_KEYS.TOKEN_SECRET_PREFIX, KEY_CACHE_SECONDS: SIGNING_KEYS.KEY_CACHE_SECONDS, ...ISSUER, ...PEERS },
  keys: { ...RUNTIME, ...SIGNING_KEYS, TOKEN_PROFILE: TOKENS.TOKEN_PROFILE },
  tokenMaintenance: {
    ...RUNTIME,
    ...ENROLLMENT_TABLE,
    ...MESH,
    ...TOKENS,
    /** A service's token secret is deleted after it has had no allowed task this long. */
    TOKEN_SECRET_IDLE_SECONDS: seconds(7 * 86_400),
  },
  /** Mesh names: the groups' declarations and the Services from the mesh, the address book in the enrollment table, the zone. */
  names: { ...RUNTIME, ...ENROLLMENT_TABLE, ...MESH, ...MESH_NAMES },
  reconcile: {
    ...ENROLLING,
    /** The reconciler's cursor lives in the auth table (pk `key`). */
    AUTH_TABLE: EXCHANGE.AUTH_TABLE,
    ...WATCHED_CLUSTERS,
    /** Hub and spoke: member accounts whose clusters every pass lists too, through their reader role. */
    MEMBER_ACCOUNTS: z._default(z.string().check(z.regex(/^(\d{12}(,\d{12})*)?$/, 'must be 12-digit account ids separated by commas')), ''),
    /** A task ECS does not know is left alone this long after its record or entry was written. */
    RECONCILE_GRACE_SECONDS: seconds(120),
    /** Tasks judged per invocation; the next carries on from the stored cursor. */
    RECONCILE_MAX_TASKS: positiveInt(2000),
    /** DescribeTasks calls per second, below ECS's shared Describe* quota (20/s sustained). */
    RECONCILE_DESCRIBE_RATE: positiveInt(10),
  },
};

export type FunctionName = keyof typeof FUNCTION_SETTINGS;

type Shape<K extends FunctionName> = (typeof FUNCTION_SETTINGS)[K];
/** One function's validated settings. */
export type Config<K extends FunctionName> = Readonly<z.infer<z.ZodMiniObject<Shape<K>>>>;

type AllShapes = typeof RUNTIME &
  typeof POLICY_READS &
  typeof POLICY_AUDIT_TABLE &
  typeof ENROLLMENT_TABLE &
  typeof MESH &
  typeof TASK_IDENTITY &
  typeof TOKENS &
  typeof EXCHANGE &
  (typeof FUNCTION_SETTINGS)['taskEvents'] &
  (typeof FUNCTION_SETTINGS)['tokenMaintenance'] &
  (typeof FUNCTION_SETTINGS)['reconcile'];
/** The named settings, whichever function holds them: what a builder in wiring.ts asks for. */
export type Settings<K extends keyof AllShapes> = Readonly<Pick<z.infer<z.ZodMiniObject<AllShapes>>, K>>;

/** The rules that link fields, each applied when the function holds the fields it links. */
function linkedRules(env: Record<string, unknown>, issue: (path: string, message: string) => void): void {
  // Kuma and Kong Mesh verify data-plane tokens with RSA keys only.
  if (env.TOKEN_PROFILE === 'kuma' && env.SIGNING_ALG !== 'RS256') issue('SIGNING_ALG', 'must be RS256 when TOKEN_PROFILE=kuma');
  if (typeof env.PEER_JWKS_URLS === 'string') for (const problem of parsePeerJwksUrls(env.PEER_JWKS_URLS).problems) issue('PEER_JWKS_URLS', problem);
  // A member the reconciler lists must have a role to list it through.
  if (typeof env.MEMBER_ACCOUNTS === 'string' && env.MEMBER_ROLE_NAMES instanceof Map) {
    const names = { memberRoleNames: env.MEMBER_ROLE_NAMES as ReadonlyMap<string, string>, defaultRoleName: env.CROSS_ACCOUNT_ROLE_NAME as string | undefined };
    const roleless = env.MEMBER_ACCOUNTS.split(',').filter((account) => account && !readerRoleNameFor(account, names));
    if (roleless.length) issue('MEMBER_ACCOUNTS', `${roleless.join(', ')} ha${roleless.length > 1 ? 've' : 's'} no reader role: set CROSS_ACCOUNT_ROLE_NAME, or name one in MEMBER_ROLE_NAMES`);
  }
  if (env.MESH_API !== 'kubernetes') return;
  if (!env.MESH_K8S_URL) issue('MESH_K8S_URL', 'required when MESH_API=kubernetes');
  if (env.MESH_K8S_AUTH === 'eks' && !env.MESH_K8S_EKS_CLUSTER_NAME) issue('MESH_K8S_EKS_CLUSTER_NAME', 'required when MESH_K8S_AUTH=eks');
  if (env.MESH_K8S_AUTH === 'bearer' && !env.MESH_K8S_TOKEN_SECRET_ID) issue('MESH_K8S_TOKEN_SECRET_ID', 'required when MESH_K8S_AUTH=bearer');
}

/** Parses the settings `fn` uses from the environment; throws ConfigError naming every bad variable. */
export function loadConfig<K extends FunctionName>(fn: K, env: Record<string, string | undefined> = process.env): Config<K> {
  const schema = z.object(FUNCTION_SETTINGS[fn]).check(
    z.superRefine((parsed, ctx) => linkedRules(parsed, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }))),
  );
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration of ${fn}: ${problems.join('; ')}`);
  }
  // TypeScript cannot follow a schema picked by a generic key to its inferred type.
  return Object.freeze(result.data) as unknown as Config<K>;
}
