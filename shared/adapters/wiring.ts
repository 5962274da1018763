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
import type { Config } from '../config.js';
import type { EnrollmentDeps } from '../app/deps.js';
import type { Log } from '../app/log.js';
import type { MeshApi } from '../ports.js';
import { DynamoDbEnrollmentStore } from './dynamodb-enrollment-store.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';
import { EcsTaskDirectory } from './ecs-task-directory.js';
import { IamRoleDirectory } from './iam-role-directory.js';
import { withCachedWorkloadGroups } from './cached-mesh-api.js';
import { createMeshApi } from './mesh-api-factory.js';
import { clientConfig } from './client-config.js';
import { createKeyStore } from './key-store-factory.js';
import { SecretsManagerTokenVault } from './secrets-manager-token-vault.js';
import { createServiceTokenEnsurer, type ServiceTokenDeps } from '../app/ensure-service-token.js';
import type { ExchangeDeps } from '../app/exchange-token.js';
import type { ExplainDeps } from '../app/explain-decision.js';
import { HttpStsVerifier } from './http-sts-verifier.js';
import { DynamoDbExchangeGuard } from './dynamodb-exchange-guard.js';

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  ecs: ECSClient;
  iam: IAMClient;
  sqs: SQSClient;
  sts: STSClient;
  secrets: SecretsManagerClient;
}

export function createAwsClients(config: Config): AwsClients {
  const base = clientConfig(config);
  return {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(base), { marshallOptions: { removeUndefinedValues: true } }),
    ecs: new ECSClient(base),
    iam: new IAMClient(base),
    sqs: new SQSClient(base),
    sts: new STSClient(base),
    secrets: new SecretsManagerClient(base),
  };
}

/** What minting a service's data-plane token needs: the vault, the signer and the claim settings. */
export function buildServiceTokenDeps(config: Config, log: Log, clients: Pick<AwsClients, 'secrets'>): ServiceTokenDeps {
  return {
    vault: new SecretsManagerTokenVault(clients.secrets, config.TOKEN_SECRET_PREFIX),
    signer: createKeyStore(config, clients.secrets),
    log,
    issuer: config.ISSUER_URL,
    audiences: config.TOKEN_AUDIENCES.split(',').map((a) => a.trim()).filter(Boolean),
    meshName: config.MESH_NAME,
    defaultProfile: config.TOKEN_PROFILE,
    lifetimeSeconds: config.DATA_PLANE_TOKEN_LIFETIME_SECONDS,
  };
}

/** Everything the auth exchange needs. Allowed accounts default to this deployment's own. */
export async function buildExchangeDeps(
  config: Config,
  log: Log,
  clients: AwsClients,
  extra: Pick<ExchangeDeps, 'digest' | 'newTokenId'> & { mesh?: MeshApi },
): Promise<ExchangeDeps> {
  const { mesh, ...ids } = extra;
  // One key store per container: the exchange signs with the same keys (and cache) as the pipeline.
  const tokens = buildServiceTokenDeps(config, log, clients);
  const enrollment = buildEnrollmentDeps(config, log, clients, mesh, tokens);
  const listed = config.AUTH_ALLOWED_ACCOUNTS.split(',').map((a) => a.trim()).filter(Boolean);
  const allowedAccounts = listed.length ? listed : [(await clients.sts.send(new GetCallerIdentityCommand({}))).Account ?? ''];
  return {
    tasks: enrollment.tasks,
    roles: enrollment.roles,
    policies: enrollment.policies,
    mesh: enrollment.mesh,
    enrollments: enrollment.enrollments,
    sts: new HttpStsVerifier({ timeoutMs: config.STS_TIMEOUT_MS }),
    guard: new DynamoDbExchangeGuard(clients.dynamo, config.AUTH_TABLE),
    signer: tokens.signer,
    log,
    settings: {
      audience: config.AUTH_AUDIENCE,
      maxAgeSeconds: config.EXCHANGE_MAX_AGE_SECONDS,
      maxSkewSeconds: config.EXCHANGE_MAX_SKEW_SECONDS,
      ...(config.STS_LOCAL_ENDPOINT ? { localStsEndpoint: config.STS_LOCAL_ENDPOINT } : {}),
      allowedAccounts,
      issuer: config.ISSUER_URL,
      audiences: config.TOKEN_AUDIENCES.split(',').map((a) => a.trim()).filter(Boolean),
      meshName: config.MESH_NAME,
      defaultProfile: config.TOKEN_PROFILE,
      lifetimeSeconds: config.ONBOARDING_TOKEN_LIFETIME_SECONDS,
      ratePerTask: config.EXCHANGE_RATE_PER_TASK,
      ratePerSource: config.EXCHANGE_RATE_PER_SOURCE,
    },
    ...ids,
  };
}

/** Everything task-events needs; `mesh` may be injected (tests, local stack). */
export function buildEnrollmentDeps(config: Config, log: Log, clients: AwsClients, mesh?: MeshApi, tokens: ServiceTokenDeps = buildServiceTokenDeps(config, log, clients)): EnrollmentDeps {
  return {
    serviceTokens: () => createServiceTokenEnsurer(tokens),
    tasks: new EcsTaskDirectory(clients.ecs),
    roles: new IamRoleDirectory(iamClientForAccount(config, clients), config.ROLE_CACHE_SECONDS * 1000),
    policies: new DynamoDbPolicyStore(clients.dynamo, config.POLICY_TABLE, config.POLICY_CACHE_SECONDS * 1000),
    enrollments: new DynamoDbEnrollmentStore(clients.dynamo, config.ENROLLMENT_TABLE),
    mesh: withCachedWorkloadGroups(mesh ?? createMeshApi(config, clients), config.WORKLOAD_GROUP_CACHE_SECONDS * 1000),
    log,
    tombstoneTtlSeconds: config.TOMBSTONE_TTL_SECONDS,
  };
}

/** What explain reads: tasks, roles, the mesh, and the policies uncached so an edit shows at once. */
export function buildExplainDeps(config: Config, log: Log, clients: AwsClients, mesh?: MeshApi): ExplainDeps {
  const { tasks, roles, mesh: cachedMesh } = buildEnrollmentDeps(config, log, clients, mesh);
  return { tasks, roles, mesh: cachedMesh, policies: new DynamoDbPolicyStore(clients.dynamo, config.POLICY_TABLE, 0) };
}

/**
 * Role tags are read in the role's own account (docs/architecture.md#policy): our own account with our client,
 * another one through CROSS_ACCOUNT_ROLE_NAME assumed there.
 */
function iamClientForAccount(config: Config, clients: AwsClients): (accountId: string, partition: string) => Promise<IAMClient> {
  let ownAccount: Promise<string | undefined> | undefined;
  const foreign = new Map<string, IAMClient>();
  return async (accountId, partition) => {
    if (!config.CROSS_ACCOUNT_ROLE_NAME) return clients.iam;
    ownAccount ??= clients.sts.send(new GetCallerIdentityCommand({})).then((o) => o.Account);
    if ((await ownAccount) === accountId) return clients.iam;
    const cached = foreign.get(accountId);
    if (cached) return cached;
    const roleArn = `arn:${partition}:iam::${accountId}:role/${config.CROSS_ACCOUNT_ROLE_NAME}`;
    const client = new IAMClient({
      ...clientConfig(config),
      credentials: async () => {
        const out = await clients.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'ecs-mesh-onboarding' }));
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      },
    });
    foreign.set(accountId, client);
    return client;
  };
}
