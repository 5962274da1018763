/**
 * Builds SDK clients and adapters from Config, once per Lambda container (or local process).
 * Adapters never read the environment; this is the one place that turns config into objects.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Settings } from '../config.js';
import type { EnrollmentDeps } from '../app/deps.js';
import type { Log, MeshApi, TaskDirectory, TaskInventory, WorkloadGroupReader } from '../ports.js';
import { DynamoDbReconcileCursor } from './dynamodb-reconcile-cursor.js';
import { EcsTaskInventory } from './ecs-task-inventory.js';
import type { ReconcileDeps } from '../app/reconcile-tasks.js';
import { DynamoDbEnrollmentStore } from './dynamodb-enrollment-store.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';
import { EcsTaskDirectory } from './ecs-task-directory.js';
import { IamRoleDirectory } from './iam-role-directory.js';
import { cachedWorkloadGroups, withCachedWorkloadGroups } from './cached-mesh-api.js';
import { createMeshApi, createWorkloadGroupReader } from './mesh-api-factory.js';
import { clientConfig } from './client-config.js';
import { deploymentLabelValue } from '../core/workload-entry.js';
import { createKeyStores } from './key-store-factory.js';
import { SecretsManagerTokenVault } from './secrets-manager-token-vault.js';
import { createServiceTokenEnsurer, type EnsuredServiceToken, type ServiceTokenDeps } from '../app/ensure-service-token.js';
import { ExpiringCache } from './expiring-cache.js';
import type { ExchangeDeps } from '../app/exchange-token.js';
import type { ExplainDeps } from '../app/explain-decision.js';
import { HttpStsVerifier } from './http-sts-verifier.js';
import { AccountRoutedTaskDirectory } from './account-routed-task-directory.js';
import { DynamoDbExchangeGuard } from './dynamodb-exchange-guard.js';
import { DynamoDbAddressClaims } from './dynamodb-address-claims.js';
import { Ec2SubnetDirectory } from './ec2-subnet-directory.js';
import type { NetworkDeps } from '../app/deps.js';
import { parseMeshNetworks } from '../core/networks.js';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { AccountRoutedTaskInventory } from './account-routed-task-inventory.js';
import { readerRoleNameFor, readsOtherAccounts, type ReaderRoleNames } from '../core/member-accounts.js';
import { partitionOfRegion } from '../core/sts-endpoint.js';
import { clusterList } from '../core/task.js';
import { sharedSession } from './shared-session.js';

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  ecs: ECSClient;
  iam: IAMClient;
  sqs: SQSClient;
  sts: STSClient;
  secrets: SecretsManagerClient;
}

type ClientSettings = Settings<'AWS_REGION' | 'AWS_ENDPOINT_URL'>;
type TokenSettings = Settings<
  'TOKEN_SECRET_PREFIX' | 'SIGNING_ALG' | 'KEY_CACHE_SECONDS' | 'KEY_PREPUBLISH_SECONDS' | 'DATA_PLANE_TOKEN_LIFETIME_SECONDS' | 'ONBOARDING_TOKEN_LIFETIME_SECONDS' | 'ISSUER_URL' | 'TOKEN_AUDIENCES' | 'MESH_NAME' | 'TOKEN_PROFILE'
>;
type MeshSettings = ClientSettings &
  Settings<'MESH_API' | 'MESH_FILE_DIR' | 'MESH_K8S_URL' | 'MESH_K8S_CA_PEM' | 'MESH_K8S_AUTH' | 'MESH_K8S_EKS_CLUSTER_NAME' | 'MESH_K8S_TOKEN_SECRET_ID' | 'MESH_K8S_TIMEOUT_MS' | 'WORKLOAD_GROUP_CACHE_SECONDS'>;
type TaskIdentitySettings = ClientSettings & Settings<'ROLE_CACHE_SECONDS' | 'CROSS_ACCOUNT_ROLE_NAME' | 'MEMBER_ROLE_NAMES' | 'MESH_NETWORKS'>;
type PolicyReadSettings = Settings<'POLICY_TABLE' | 'POLICY_CACHE_SECONDS'>;
type EnrollmentSettings = TokenSettings & MeshSettings & TaskIdentitySettings & PolicyReadSettings & Settings<'ENROLLMENT_TABLE' | 'TOMBSTONE_TTL_SECONDS' | 'AUTH_AUDIENCE'>;
type ExchangeConfig = TokenSettings &
  MeshSettings &
  TaskIdentitySettings &
  PolicyReadSettings &
  Settings<
    | 'ENROLLMENT_TABLE'
    | 'AUTH_AUDIENCE'
    | 'AUTH_ALLOWED_ACCOUNTS'
    | 'OWN_ACCOUNT_ID'
    | 'EXCHANGE_MAX_AGE_SECONDS'
    | 'EXCHANGE_MAX_SKEW_SECONDS'
    | 'STS_LOCAL_ENDPOINT'
    | 'STS_TIMEOUT_MS'
    | 'AUTH_TABLE'
    | 'EXCHANGE_RATE_PER_TASK'
    | 'EXCHANGE_RATE_PER_SOURCE'
    | 'EXCHANGE_RATE_PER_ROLE'
    | 'EXCHANGE_RATE_PER_ACCOUNT'
    | 'ECS_CLUSTERS'
  >;

/** The options every SDK client of a process is built with: region, local endpoint, and credentials where one process stands for several accounts. */
type ClientOptions = ReturnType<typeof clientConfig> & { credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider };

// One factory per client, each its own binding: a handler names the factories of the clients it
// calls, and esbuild leaves every other SDK package out of its bundle (they have no side effects),
// so no function pays the cold import of a client it never calls.
export const dynamoClient = (options: ClientOptions) => DynamoDBDocumentClient.from(new DynamoDBClient(options), { marshallOptions: { removeUndefinedValues: true } });
export const ecsClient = (options: ClientOptions) => new ECSClient(options);
export const iamClient = (options: ClientOptions) => new IAMClient(options);
export const sqsClient = (options: ClientOptions) => new SQSClient(options);
export const stsClient = (options: ClientOptions) => new STSClient(options);
export const secretsClient = (options: ClientOptions) => new SecretsManagerClient(options);

/** The factories of the clients asked for, by the name each client has in AwsClients. */
export type ClientFactories<K extends keyof AwsClients> = { [N in K]: (options: ClientOptions) => AwsClients[N] };

/** Every client: for tests, benches and the local tools, never a Lambda handler (its bundle would hold every SDK package). */
export const EVERY_AWS_CLIENT: ClientFactories<keyof AwsClients> = { dynamo: dynamoClient, ecs: ecsClient, iam: iamClient, sqs: sqsClient, sts: stsClient, secrets: secretsClient };

type ClientExtension<N extends keyof AwsClients> = (client: AwsClients[N]) => void;
/** Extensions run on every client of their kind this process creates (see extendAwsClients). */
const clientExtensions: { [N in keyof AwsClients]?: ClientExtension<N>[] } = {};

/**
 * Runs `extension` on every `name` client created from now on in this process, a handler's and
 * those it reads a member account with (hub and spoke): the seam through which the local stack
 * stands in for what its emulated AWS lacks (ECS task versions, which moto never reports). Nothing
 * registers one on AWS.
 */
export function extendAwsClients<N extends keyof AwsClients>(name: N, extension: ClientExtension<N>): void {
  (clientExtensions[name] ??= [] as never[]).push(extension as never);
}

/** `client`, after the extensions of its kind have run on it. */
function extended<N extends keyof AwsClients>(name: N, client: AwsClients[N]): AwsClients[N] {
  for (const extend of (clientExtensions[name] ?? []) as ClientExtension<N>[]) extend(client);
  return client;
}

/**
 * The clients a handler calls, and no other: `factories` names them (`{ dynamo: dynamoClient, ... }`),
 * and the result's type holds only those, so a builder that needs another does not compile.
 * `credentials` only where one process stands for several accounts' deployments (the local runs),
 * else the default chain's.
 */
export function createAwsClients<K extends keyof AwsClients>(config: ClientSettings, factories: ClientFactories<K>, credentials?: AwsCredentialIdentity): Pick<AwsClients, K> {
  const options: ClientOptions = { ...clientConfig(config), ...(credentials ? { credentials } : {}) };
  const clients: Partial<AwsClients> = {};
  for (const name of Object.keys(factories) as K[]) {
    const make = factories[name] as (options: ClientOptions) => AwsClients[K];
    (clients as Record<K, AwsClients[K]>)[name] = extended(name, make(options));
  }
  return clients as Pick<AwsClients, K>;
}

/** What the one enrollment decision reads with (tasks, roles, policies, the mesh's token) and records in. */
type DecisionClients = Pick<AwsClients, 'dynamo' | 'ecs' | 'iam' | 'sts' | 'secrets'>;

/** What minting a service's data-plane token needs: the vault, the signer and the claim settings. */
export function buildServiceTokenDeps(config: TokenSettings, log: Log, clients: Pick<AwsClients, 'secrets'>): ServiceTokenDeps {
  return {
    vault: new SecretsManagerTokenVault(clients.secrets, config.TOKEN_SECRET_PREFIX),
    signers: createKeyStores(config, clients.secrets),
    log,
    issuer: config.ISSUER_URL,
    audiences: config.TOKEN_AUDIENCES.split(',').map((a) => a.trim()).filter(Boolean),
    meshName: config.MESH_NAME,
    defaultProfile: config.TOKEN_PROFILE,
    lifetimeSeconds: config.DATA_PLANE_TOKEN_LIFETIME_SECONDS,
  };
}

/**
 * This deployment's account: from the template (OWN_ACCOUNT_ID, no call at cold start), else
 * STS. Needed as the default allowed account; otherwise only to tell the allowed accounts it
 * cannot read, so if STS cannot say, none is refused as such.
 */
async function ownAccount(config: ExchangeConfig, listed: readonly string[], log: Log, identity: () => Promise<{ Account?: string }>): Promise<string | undefined> {
  if (config.OWN_ACCOUNT_ID !== undefined) return config.OWN_ACCOUNT_ID;
  if (listed.length === 0) return (await identity()).Account ?? '';
  if (listed.every((account) => readerRoleNameFor(account, readerRoleNames(config)))) return undefined;
  return identity().then(
    (o) => o.Account,
    (error: unknown) => void log.warn('could not learn this account; allowed accounts are not checked for a cross-account role', { error: String(error) }),
  );
}

/**
 * Everything the auth exchange needs. Allowed accounts default to this deployment's own; without
 * CROSS_ACCOUNT_ROLE_NAME the others cannot be read, so their tasks are refused as such (logged
 * here once per container, and on each refusal).
 */
export async function buildExchangeDeps(
  config: ExchangeConfig,
  log: Log,
  clients: DecisionClients,
  extra: Pick<ExchangeDeps, 'digest' | 'newTokenId'> & { mesh?: WorkloadGroupReader },
): Promise<ExchangeDeps> {
  const { mesh, ...ids } = extra;
  // One key store per container: the exchange signs with the same keys (and cache) as the pipeline.
  const tokens = buildServiceTokenDeps(config, log, clients);
  const listed = config.AUTH_ALLOWED_ACCOUNTS.split(',').map((a) => a.trim()).filter(Boolean);
  const own = await ownAccount(config, listed, log, () => clients.sts.send(new GetCallerIdentityCommand({})));
  const allowedAccounts = listed.length ? listed : [own ?? ''];
  const unreadableAccounts = own === undefined ? [] : allowedAccounts.filter((account) => account !== own && !readerRoleNameFor(account, readerRoleNames(config)));
  if (unreadableAccounts.length)
    log.warn('allowed accounts without a cross-account role: their tasks are refused (set crossAccountRoleName)', { unreadableAccounts, ownAccount: own });
  return {
    ...buildTaskReaders(config, clients),
    policies: new DynamoDbPolicyStore(clients.dynamo, config.POLICY_TABLE, config.POLICY_CACHE_SECONDS * 1000),
    mesh: buildWorkloadGroupReader(config, clients, mesh),
    enrollments: new DynamoDbEnrollmentStore(clients.dynamo, config.ENROLLMENT_TABLE),
    addresses: new DynamoDbAddressClaims(clients.dynamo, config.ENROLLMENT_TABLE),
    sts: new HttpStsVerifier({ timeoutMs: config.STS_TIMEOUT_MS }),
    guard: new DynamoDbExchangeGuard(clients.dynamo, config.AUTH_TABLE),
    signers: tokens.signers,
    log,
    settings: {
      region: config.AWS_REGION,
      audience: config.AUTH_AUDIENCE,
      maxAgeSeconds: config.EXCHANGE_MAX_AGE_SECONDS,
      maxSkewSeconds: config.EXCHANGE_MAX_SKEW_SECONDS,
      ...(config.STS_LOCAL_ENDPOINT ? { localStsEndpoint: config.STS_LOCAL_ENDPOINT } : {}),
      allowedAccounts,
      unreadableAccounts,
      issuer: config.ISSUER_URL,
      audiences: config.TOKEN_AUDIENCES.split(',').map((a) => a.trim()).filter(Boolean),
      meshName: config.MESH_NAME,
      defaultProfile: config.TOKEN_PROFILE,
      lifetimeSeconds: config.ONBOARDING_TOKEN_LIFETIME_SECONDS,
      ratePerTask: config.EXCHANGE_RATE_PER_TASK,
      ratePerSource: config.EXCHANGE_RATE_PER_SOURCE,
      ratePerRole: config.EXCHANGE_RATE_PER_ROLE,
      ratePerAccount: config.EXCHANGE_RATE_PER_ACCOUNT,
      clusters: clusterList(config.ECS_CLUSTERS),
    },
    ...ids,
  };
}

/**
 * How long a container trusts what it knows of a service's token without reading the secret
 * (it reads sooner when the token is due): the bound on how late it notices a secret deleted or
 * rewritten by hand. Token maintenance removes a secret only after TOKEN_SECRET_IDLE_SECONDS
 * without tasks, far longer, so its removals are never hidden.
 */
export const SERVICE_TOKEN_MEMORY_MS = 5 * 60_000;

/**
 * Everything task-events needs; `mesh` may be injected (tests, local stack), and so may the clock
 * its per-container caches (role tags, policies, groups) expire by: a harness on virtual time
 * must age them as it ages the queue.
 */
export function buildEnrollmentDeps(config: EnrollmentSettings, log: Log, clients: DecisionClients, mesh?: MeshApi, clock: () => number = Date.now): EnrollmentDeps {
  // One per container: the tokens of every service it has seen, read again only near refresh.
  const knownTokens = new ExpiringCache<EnsuredServiceToken>(SERVICE_TOKEN_MEMORY_MS, clock);
  const tokens = buildServiceTokenDeps(config, log, clients);
  return {
    serviceTokens: () => createServiceTokenEnsurer(tokens, knownTokens),
    ...buildTaskReaders(config, clients, clock),
    policies: new DynamoDbPolicyStore(clients.dynamo, config.POLICY_TABLE, config.POLICY_CACHE_SECONDS * 1000, clock),
    enrollments: new DynamoDbEnrollmentStore(clients.dynamo, config.ENROLLMENT_TABLE),
    addresses: new DynamoDbAddressClaims(clients.dynamo, config.ENROLLMENT_TABLE),
    mesh: buildMeshApi(config, clients, mesh, clock),
    log,
    tombstoneTtlSeconds: config.TOMBSTONE_TTL_SECONDS,
    deployment: deploymentLabelValue(config.AUTH_AUDIENCE),
  };
}

/** Everything a reconcile pass needs: task-events' deps plus the ECS inventory and the cursor. */
export function buildReconcileDeps(
  config: EnrollmentSettings & Settings<'AUTH_TABLE' | 'ECS_CLUSTERS' | 'RECONCILE_GRACE_SECONDS' | 'RECONCILE_MAX_TASKS' | 'RECONCILE_DESCRIBE_RATE' | 'MEMBER_ACCOUNTS'>,
  log: Log,
  clients: DecisionClients,
  mesh?: MeshApi,
): ReconcileDeps {
  return {
    ...buildEnrollmentDeps(config, log, clients, mesh),
    inventory: buildTaskInventory(config, log, clients),
    cursor: new DynamoDbReconcileCursor(clients.dynamo, config.AUTH_TABLE),
    settings: {
      graceSeconds: config.RECONCILE_GRACE_SECONDS,
      maxTasksPerPass: config.RECONCILE_MAX_TASKS,
      describeCallsPerSecond: config.RECONCILE_DESCRIBE_RATE,
      clusters: clusterList(config.ECS_CLUSTERS),
    },
  };
}

/**
 * The reconciler's ECS listing: our clusters, and with MEMBER_ACCOUNTS each member's too, listed
 * through the role assumed there (the same reader role, and clients, as its tasks' reads).
 */
function buildTaskInventory(config: TaskIdentitySettings & Settings<'MEMBER_ACCOUNTS'>, log: Log, clients: Pick<AwsClients, 'iam' | 'ecs' | 'sts'>): TaskInventory {
  const own = new EcsTaskInventory(clients.ecs);
  const members = config.MEMBER_ACCOUNTS.split(',').filter(Boolean);
  if (!members.length) return own;
  const forAccount = clientsForAccount(config, clients);
  const partition = partitionOfRegion(config.AWS_REGION);
  return new AccountRoutedTaskInventory(
    own,
    members.map((accountId) => ({ accountId, partition })),
    async (accountId, p) => {
      const { ecs } = await forAccount(accountId, p);
      return ecs === clients.ecs ? own : new EcsTaskInventory(ecs);
    },
    log,
  );
}

/** What explain reads: tasks, roles, the mesh, and the policies uncached so an edit shows at once. */
export function buildExplainDeps(config: MeshSettings & TaskIdentitySettings & Settings<'POLICY_TABLE' | 'ENROLLMENT_TABLE'>, clients: DecisionClients, mesh?: WorkloadGroupReader): ExplainDeps {
  return {
    ...buildTaskReaders(config, clients),
    addresses: new DynamoDbAddressClaims(clients.dynamo, config.ENROLLMENT_TABLE),
    mesh: buildWorkloadGroupReader(config, clients, mesh),
    policies: new DynamoDbPolicyStore(clients.dynamo, config.POLICY_TABLE, 0),
  };
}

/** The configured mesh (or the injected one) with WorkloadGroups cached per container: the entry writer, for task-events and the reconciler. */
export function buildMeshApi(config: MeshSettings, clients: Pick<AwsClients, 'secrets'>, mesh?: MeshApi, clock: () => number = Date.now): MeshApi {
  return withCachedWorkloadGroups(mesh ?? createMeshApi(config, clients), config.WORKLOAD_GROUP_CACHE_SECONDS * 1000, clock);
}

/**
 * The configured mesh's WorkloadGroups (or the injected reader's), cached per container as the
 * writer's are: for explain, the auth exchange and token maintenance, which never write entries,
 * so their bundles hold no entry writer (and token maintenance, which decides nothing, no CRD
 * validator either: the decision loads it to refuse ENTRY_INVALID).
 */
export function buildWorkloadGroupReader(config: MeshSettings, clients: Pick<AwsClients, 'secrets'>, reader?: WorkloadGroupReader, clock: () => number = Date.now): WorkloadGroupReader {
  return cachedWorkloadGroups(reader ?? createWorkloadGroupReader(config, clients), config.WORKLOAD_GROUP_CACHE_SECONDS * 1000, clock);
}

/**
 * Tasks, task definitions and task roles (with their tags), each read in its own account
 * (docs/architecture.md#policy): ours with our clients, a member account's through its reader role
 * (MEMBER_ROLE_NAMES, else CROSS_ACCOUNT_ROLE_NAME).
 * With them, the networks of meshNetworks and the subnets' VPCs, read the same way (#networks).
 */
export function buildTaskReaders(config: TaskIdentitySettings, clients: Pick<AwsClients, 'iam' | 'ecs' | 'sts'>, clock: () => number = Date.now): { tasks: TaskDirectory; roles: IamRoleDirectory } & Omit<NetworkDeps, 'addresses'> {
  const forAccount = clientsForAccount(config, clients);
  const own = new EcsTaskDirectory(clients.ecs);
  const networks = parseMeshNetworks(config.MESH_NETWORKS);
  // loadConfig refused a bad MESH_NETWORKS already; this only narrows the type.
  if (!networks.ok) throw new Error(`MESH_NETWORKS: ${networks.problems.join('; ')}`);
  return {
    networks: networks.networks,
    subnets: new Ec2SubnetDirectory({ region: config.AWS_REGION, ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}), timeoutMs: 5000, credentialsFor: async (accountId, partition) => (await forAccount(accountId, partition)).credentials }),
    tasks: readsOtherAccounts(readerRoleNames(config)) ? new AccountRoutedTaskDirectory(own, async (accountId, partition) => {
      const { ecs } = await forAccount(accountId, partition);
      // Our own account keeps the one directory (and task-definition cache) short names use too.
      return ecs === clients.ecs ? own : new EcsTaskDirectory(ecs);
    }) : own,
    roles: new IamRoleDirectory(async (accountId, partition) => (await forAccount(accountId, partition)).iam, config.ROLE_CACHE_SECONDS * 1000, clock),
  };
}

const readerRoleNames = (config: TaskIdentitySettings): ReaderRoleNames => ({ memberRoleNames: config.MEMBER_ROLE_NAMES, defaultRoleName: config.CROSS_ACCOUNT_ROLE_NAME });

/** A member's assumed session is renewed this long before it expires (the SDK's own margin). */
const SESSION_RENEWAL_MS = 5 * 60_000;

/** What reads an account's tasks, roles and subnets: the IAM and ECS clients, and the credentials they sign with. */
type AccountReaders = Pick<AwsClients, 'iam' | 'ecs'> & { credentials: AwsCredentialIdentityProvider };
type AccountClients = (accountId: string, partition: string) => Promise<AccountReaders>;
/** One per config and clients: the reconciler's task readers and its inventory share each member's assumed clients. */
const accountClientsOf = new WeakMap<object, WeakMap<object, AccountClients>>();

/** The IAM and ECS clients for an account: ours, or ones with its reader role (MEMBER_ROLE_NAMES, else CROSS_ACCOUNT_ROLE_NAME) assumed there. */
function clientsForAccount(config: TaskIdentitySettings, clients: Pick<AwsClients, 'iam' | 'ecs' | 'sts'>): AccountClients {
  const byClients = accountClientsOf.get(config) ?? new WeakMap<object, AccountClients>();
  accountClientsOf.set(config, byClients);
  const known = byClients.get(clients);
  if (known) return known;
  const made = assumingClientsForAccount(config, clients);
  byClients.set(clients, made);
  return made;
}

function assumingClientsForAccount(config: TaskIdentitySettings, clients: Pick<AwsClients, 'iam' | 'ecs' | 'sts'>): AccountClients {
  const own = { iam: clients.iam, ecs: clients.ecs, credentials: clients.ecs.config.credentials };
  let ownAccount: Promise<string | undefined> | undefined;
  const foreign = new Map<string, AccountReaders>();
  return async (accountId, partition) => {
    const roleName = readerRoleNameFor(accountId, readerRoleNames(config));
    if (!roleName) return own;
    ownAccount ??= clients.sts.send(new GetCallerIdentityCommand({})).then((o) => o.Account);
    if ((await ownAccount) === accountId) return own;
    const cached = foreign.get(accountId);
    if (cached) return cached;
    const roleArn = `arn:${partition}:iam::${accountId}:role/${roleName}`;
    const assume = async () => {
      const out = await clients.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'ecs-mesh-onboarding' }));
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    };
    // One session for the account's IAM and ECS clients, renewed before it expires.
    const credentials = sharedSession(assume, SESSION_RENEWAL_MS);
    const options = { ...clientConfig(config), credentials };
    // A member's tasks are described with these: what stands in locally for ECS (task versions) must reach them too.
    const made = { iam: extended('iam', iamClient(options)), ecs: extended('ecs', ecsClient(options)), credentials };
    foreign.set(accountId, made);
    return made;
  };
}
