/**
 * The whole local stack in one process: moto, the resources serverless.yml would create,
 * the ECS event source, the SQS → task-events consumer, and the real Lambda handlers loaded
 * with the same environment variables they get on AWS.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { extendAwsClients } from '../shared/adapters/wiring.js';
import { bootstrapLocalStack, createMeshNamesZone, localNames, type LocalStack } from './bootstrap.js';
import type { LocalContext } from './context.js';
import { EcsEventSource } from './ecs-event-source.js';
import { reportTaskVersions } from './ecs-task-versions.js';
import { LOCAL_AWS_ENV, startMoto, type MotoServer } from './moto.js';
import { QueueConsumer } from './queue-consumer.js';
import { MemberEventForwarding, settingsInAccount } from './member-event-forwarding.js';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import type { HttpHandler, Route } from './http-api.js';

export interface RunningLocalStack {
  moto: MotoServer;
  resources: LocalStack;
  meshDir: string;
  clientSettings: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  events: EcsEventSource;
  /** Hub and spoke: each member account's ECS events, forwarded to this stack's queue. */
  members: MemberEventForwarding[];
  consumer: QueueConsumer;
  /** The HTTP API's routes, served by the same handlers as on AWS. */
  routes: Route[];
  /** The token-maintenance function, run on a schedule on AWS. */
  maintainTokens(): Promise<unknown>;
  /** The reconcile function's scheduled pass, run every few minutes on AWS. */
  reconcileNow(): Promise<unknown>;
  /** The names function's refresh, every minute on AWS; it does nothing without a zone (the file mesh). */
  refreshNames(): Promise<unknown>;
  /** The private hosted zone of the mesh names, with the Kubernetes mesh only. */
  namesZoneId?: string;
  /** Publishes what changed in ECS and feeds the queue to task-events until it is empty. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** A Kubernetes API the functions write to instead of the file mesh (the API double, with the istiod model beside it). */
export interface LocalKubernetesMesh {
  url: string;
  /** The bearer token; kept in a moto secret, where the deployed functions read theirs. */
  token: string;
}

const LOCAL_MESH_TOKEN_SECRET = 'ecs-mesh/local/mesh-api-token';
/** moto's own account: the hub's, locally. */
const LOCAL_ACCOUNT = '123456789012';
/** The reader role each local member account gets (deploy/member-account-role.yaml's default name). */
export const LOCAL_MEMBER_READER_ROLE = 'ecs-mesh-onboarding-reader';

export async function startLocalStack(
  options: { motoPort?: number; meshDir?: string; logLevel?: string; issuerUrl?: string; kubernetes?: LocalKubernetesMesh; memberAccounts?: readonly string[] } = {},
): Promise<RunningLocalStack> {
  const moto = await startMoto({ port: options.motoPort, quiet: false });
  const clientSettings = { endpoint: moto.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY } };
  try {
    const resources = await bootstrapLocalStack(clientSettings, localNames());
    const meshDir = resolve(options.meshDir ?? '.local/mesh');
    mkdirSync(resolve(meshDir, 'workloadgroups'), { recursive: true });
    // The handlers read their configuration from the environment, as on AWS.
    if (options.kubernetes) await new SecretsManagerClient(clientSettings).send(new CreateSecretCommand({ Name: LOCAL_MESH_TOKEN_SECRET, SecretString: options.kubernetes.token }));
    // Mesh names need the Kubernetes mesh (Services, Sidecars): a private zone on moto's default VPC.
    const namesZoneId = options.kubernetes ? (await createMeshNamesZone(clientSettings)).zoneId : undefined;
    Object.assign(process.env, localFunctionEnvironment({ awsEndpoint: moto.endpoint, resources, meshDir }), {
      ...(options.kubernetes ? { MESH_API: 'kubernetes', MESH_K8S_URL: options.kubernetes.url, MESH_K8S_AUTH: 'bearer', MESH_K8S_TOKEN_SECRET_ID: LOCAL_MESH_TOKEN_SECRET } : {}),
      ...(namesZoneId ? { MESH_DNS_ZONE_ID: namesZoneId } : {}),
      LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? 'INFO',
      ...(options.issuerUrl ? { ISSUER_URL: options.issuerUrl } : {}),
      ...memberEnvironment(options.memberAccounts ?? []),
    });
    // Each member deploys its reader role (moto checks no trust policy) and forwards its ECS events here.
    const sqs = new SQSClient(clientSettings);
    const members: MemberEventForwarding[] = [];
    for (const account of options.memberAccounts ?? []) {
      const member = await settingsInAccount(clientSettings, account);
      await new IAMClient(member).send(new CreateRoleCommand({ RoleName: LOCAL_MEMBER_READER_ROLE, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }));
      members.push(new MemberEventForwarding({ member, hub: { sqs, queueUrl: resources.queueUrl } }));
    }
    // Once stopping, a poll cut off by moto going away is expected, not worth a stack trace.
    let stopping = false;
    const report = (what: string) => (error: unknown) => void (stopping || console.error(what, error));
    const events = new EcsEventSource({ ecs: new ECSClient(clientSettings), eventBridge: new EventBridgeClient(clientSettings), pollIntervalMs: 1000, onError: report('[ecs-event-source]') });
    // ECS reports a task's version with DescribeTasks, moto does not: the handlers' ECS clients (made
    // as their modules load, below) report the version of the newest event the source published for
    // it, as ECS would, so the bound on an event's version works locally as on AWS.
    extendAwsClients('ecs', (ecs) => reportTaskVersions(ecs, (taskArn) => events.versionOf(taskArn)));
    const taskEvents = await import('../functions/task-events/handler.js');
    const enrollments = await import('../functions/enrollments/handler.js');
    const discovery = await import('../functions/discovery/handler.js');
    const keys = await import('../functions/keys/handler.js');
    const tokenMaintenance = await import('../functions/token-maintenance/handler.js');
    const auth = await import('../functions/auth/handler.js');
    const policies = await import('../functions/policies/handler.js');
    const explain = await import('../functions/explain/handler.js');
    const reconcile = await import('../functions/reconcile/handler.js');
    const dlq = await import('../functions/dlq/handler.js');
    const names = await import('../functions/names/handler.js');
    const http = (handler: unknown) => handler as HttpHandler;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: resources.queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const consumer = new QueueConsumer({ sqs, queueUrl: resources.queueUrl, queueArn, region: clientSettings.region, handler: taskEvents.handler, onError: report('[queue-consumer]') });
    return {
      moto,
      resources,
      meshDir,
      clientSettings,
      events,
      members,
      consumer,
      routes: [
        { method: 'GET', path: '/v1/enrollments', handler: http(enrollments.handler), auth: 'iam' },
        { method: 'GET', path: '/v1/enrollments/{taskId}', handler: http(enrollments.handler), auth: 'iam' },
        { method: 'GET', path: '/.well-known/openid-configuration', handler: http(discovery.handler) },
        { method: 'GET', path: '/.well-known/jwks.json', handler: http(discovery.handler) },
        { method: 'POST', path: '/v1/keys/rotate', handler: http(keys.handler), auth: 'iam' },
        { method: 'POST', path: '/v1/keys/revoke', handler: http(keys.handler), auth: 'iam' },
        { method: 'GET', path: '/v1/keys', handler: http(keys.handler), auth: 'iam' },
        { method: 'POST', path: '/v1/auth/exchange', handler: http(auth.handler) },
        { method: 'GET', path: '/v1/namespaces/{namespace}/policies', handler: http(policies.handler), auth: 'iam' },
        { method: 'GET', path: '/v1/namespaces/{namespace}/policies/{name}', handler: http(policies.handler), auth: 'iam' },
        { method: 'PUT', path: '/v1/namespaces/{namespace}/policies/{name}', handler: withPolicyStream(http(policies.handler), reconcile.handler), auth: 'iam' },
        { method: 'DELETE', path: '/v1/namespaces/{namespace}/policies/{name}', handler: withPolicyStream(http(policies.handler), reconcile.handler), auth: 'iam' },
        { method: 'GET', path: '/v1/namespaces/{namespace}/policies/{name}/history', handler: http(policies.handler), auth: 'iam' },
        { method: 'POST', path: '/v1/explain', handler: http(explain.handler), auth: 'iam' },
        { method: 'POST', path: '/v1/reconcile', handler: http(reconcile.handler), auth: 'iam' },
        { method: 'GET', path: '/v1/dlq', handler: http(dlq.handler), auth: 'iam' },
        { method: 'POST', path: '/v1/dlq/replay', handler: http(dlq.handler), auth: 'iam' },
      ],
      reconcileNow: () => (reconcile.handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(scheduledEvent('reconcile'), { functionName: 'reconcile' }),
      maintainTokens: () => (tokenMaintenance.handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(scheduledEvent('token-maintenance'), { functionName: 'token-maintenance' }),
      refreshNames: () => (names.handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(scheduledEvent('names'), { functionName: 'names' }),
      ...(namesZoneId ? { namesZoneId } : {}),
      async settle() {
        await events.pollOnce();
        for (const member of members) await member.pollOnce();
        while ((await consumer.pollOnce(0)).received > 0) {
          // keep draining: a batch holds at most 10 messages
        }
      },
      async stop() {
        stopping = true;
        await events.stop();
        await consumer.stop();
        await moto.stop();
      },
    };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}

/** A hub's settings for its member accounts: their tasks may use the exchange, and the reconciler lists their clusters. */
function memberEnvironment(accounts: readonly string[]): Record<string, string> {
  if (!accounts.length) return {};
  return { MEMBER_ACCOUNTS: accounts.join(','), CROSS_ACCOUNT_ROLE_NAME: LOCAL_MEMBER_READER_ROLE, AUTH_ALLOWED_ACCOUNTS: [LOCAL_ACCOUNT, ...accounts].join(',') };
}

/** The environment the handlers get locally (and from `npm run invoke`), as serverless.yml gives it on AWS. */
export function localFunctionEnvironment(stack: Pick<LocalContext, 'awsEndpoint' | 'resources' | 'meshDir'>): Record<string, string> {
  const { awsEndpoint, resources, meshDir } = stack;
  return {
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL: awsEndpoint,
    POLICY_TABLE: resources.policyTable,
    POLICY_AUDIT_TABLE: resources.policyAuditTable,
    ENROLLMENT_TABLE: resources.enrollmentTable,
    AUTH_TABLE: resources.authTable,
    // The exchange sends the agents' signed GetCallerIdentity to moto instead of AWS STS.
    STS_LOCAL_ENDPOINT: awsEndpoint,
    DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
    TASK_EVENTS_QUEUE_URL: resources.queueUrl,
    MESH_API: 'file',
    MESH_FILE_DIR: meshDir,
  };
}

/**
 * The local stand-in for the policy table's DynamoDB stream (moto runs no event source mapping):
 * after a write the API answered with success, the reconciler gets the stream record AWS would
 * send, keys only, and re-evaluates that namespace. As on AWS, the record comes after a batching
 * window longer than the reconciler's policy cache (all handlers share one locally: 5 s), so the
 * pass reads the new policy. Its failure is logged, as a stream retry would be.
 */
function withPolicyStream(handler: HttpHandler, reconcile: unknown): HttpHandler {
  // LOCAL_POLICY_STREAM=off: no stream passes (a test that runs its own passes sees only those).
  if (process.env.LOCAL_POLICY_STREAM === 'off') return handler;
  const windowMs = (Number(process.env.POLICY_CACHE_SECONDS ?? 5) + 1) * 1000;
  return async (event, context) => {
    const result = await handler(event, context);
    const namespace = event.pathParameters?.namespace;
    if ((result.statusCode ?? 500) < 300 && namespace) {
      const record = { eventSource: 'aws:dynamodb', eventName: 'MODIFY', dynamodb: { Keys: { namespace: { S: namespace }, name: { S: event.pathParameters?.name ?? '' } } } };
      const deliver = () => (reconcile as (e: unknown, c: unknown) => Promise<unknown>)({ Records: [record] }, { functionName: 'reconcile' }).catch((e: unknown) => console.error('[reconcile: policy stream]', e));
      setTimeout(() => void deliver(), windowMs).unref();
    }
    return result;
  };
}

/** The event EventBridge Scheduler sends a scheduled Lambda. */
export function scheduledEvent(rule: string) {
  return { version: '0', id: `local-${Date.now()}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: new Date().toISOString(), region: 'us-east-1', resources: [`arn:aws:events:us-east-1:123456789012:rule/${rule}`], detail: {} };
}
