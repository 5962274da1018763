/**
 * One allowed task over the in-memory ports, and the deps each use case of shared/app takes:
 * the ratings task of test/fixtures (role tagged team=ratings, group bookinfo/ratings, a policy
 * allowing it), a manual clock at NOW. Tests change one fact and watch what the use case makes of it.
 */
import type { ExchangeDeps, ExchangeSettings } from '../../shared/app/exchange-token.js';
import type { EnrollmentDeps } from '../../shared/app/deps.js';
import type { ReconcileDeps } from '../../shared/app/reconcile-tasks.js';
import type { EcsTaskDescription, RoleFacts, TaskStateChangeEvent } from '../../shared/core/task.js';
import { ACCOUNT, NOW, aGroup, aPolicy } from '../fixtures/builders.js';
import { SERVER_ID, TASK_ARN, TASK_ID } from '../fixtures/signed-exchange.js';
import { InMemoryAddressClaims, InMemoryEcs, InMemoryEnrollmentStore, InMemoryExchangeGuard, InMemoryMeshApi, InMemoryPolicyStore, InMemoryRoleDirectory, ManualClock } from './in-memory-ports.js';
import { MemoryLog } from './memory-log.js';

export { TASK_ARN, TASK_ID };
export const CLUSTER_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`;
export const DEFINITION_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/ratings:1`;
export const ROLE_NAME = 'ratings-task';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`;
export const ROLE_ID = 'AROAEXAMPLEROLEID0001';
export const DEPLOYMENT = 'ecs-mesh-onboarding';

export const ROLE: RoleFacts = { arn: ROLE_ARN, name: ROLE_NAME, roleId: ROLE_ID, accountId: ACCOUNT, tags: { team: 'ratings' } };

/** The allowed task, running at version 3 (another task: pass its id). */
export function aRunningTask(taskId = TASK_ID, overrides: Partial<EcsTaskDescription> = {}): EcsTaskDescription {
  return {
    taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/${taskId}`,
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: DEFINITION_ARN,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    launchType: 'FARGATE',
    availabilityZone: 'us-east-1b',
    privateIpv4: '10.0.0.7',
    tags: { 'ecsmesh.io/workload-group': 'bookinfo/ratings' },
    version: 3,
    ...overrides,
  };
}

/** The task's state change event, as task-events parses it. */
export function anEventOf(task: EcsTaskDescription, overrides: Partial<TaskStateChangeEvent> = {}): TaskStateChangeEvent {
  const { tags: _tags, ...facts } = task;
  return { eventId: `e-${task.version ?? 0}`, account: ACCOUNT, region: 'us-east-1', time: NOW.toISOString(), taskId: task.taskArn.split('/').pop()!, clusterName: 'prod', version: task.version ?? 0, ...facts, ...overrides };
}

export const EXCHANGE_SETTINGS: ExchangeSettings = {
  region: 'us-east-1',
  allowedAccounts: [ACCOUNT],
  unreadableAccounts: [],
  audience: SERVER_ID,
  maxAgeSeconds: 300,
  maxSkewSeconds: 60,
  issuer: 'https://issuer.example',
  audiences: ['istio-ca'],
  meshName: 'mesh',
  defaultProfile: 'istio',
  lifetimeSeconds: 3600,
  ratePerTask: 10,
  ratePerSource: 30,
  ratePerRole: 20,
  ratePerAccount: 120,
};

export function appWorld() {
  const clock = new ManualClock(NOW);
  const ecs = new InMemoryEcs();
  ecs.definitions.set(DEFINITION_ARN, { taskDefinitionArn: DEFINITION_ARN, networkMode: 'awsvpc', taskRoleArn: ROLE_ARN });
  ecs.put(aRunningTask());
  const roles = new InMemoryRoleDirectory([ROLE]);
  const policies = new InMemoryPolicyStore();
  const policy = aPolicy();
  policies.seed(policy.metadata.namespace, policy.metadata.name, policy);
  const mesh = new InMemoryMeshApi(() => clock.now());
  mesh.addGroup(aGroup());
  const enrollments = new InMemoryEnrollmentStore();
  const addresses = new InMemoryAddressClaims((taskId) => enrollments.records.get(taskId)?.phase);
  const log = new MemoryLog();
  const guard = new InMemoryExchangeGuard();
  const signed: string[] = [];
  const signer = { sign: async (claims: Record<string, unknown>) => (signed.push(String(claims.sub)), { token: 'header.claims.signature', kid: 'kid-1', alg: 'ES256' }), publishes: async () => true };

  const enrollment: EnrollmentDeps = { tasks: ecs, roles, policies, enrollments, mesh, log, tombstoneTtlSeconds: 60, deployment: DEPLOYMENT, addresses };
  const reconcile: ReconcileDeps = { ...enrollment, inventory: ecs, settings: { graceSeconds: 60, maxTasksPerPass: 100, describeCallsPerSecond: 1000 }, sleep: async () => {} };
  /** STS's answer: the task's own role session unless a test says otherwise. */
  const sts = { identity: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/${TASK_ID}`, userId: `${ROLE_ID}:${TASK_ID}`, account: ACCOUNT }, calls: 0, failure: undefined as Error | undefined };
  const exchange: ExchangeDeps = {
    tasks: ecs,
    roles,
    policies,
    mesh,
    addresses,
    sts: {
      verify: async () => {
        sts.calls++;
        if (sts.failure) throw sts.failure;
        return sts.identity;
      },
    },
    guard,
    enrollments,
    signers: { istio: signer, kuma: signer },
    log,
    settings: { ...EXCHANGE_SETTINGS },
    digest: (s) => s,
    newTokenId: () => 'jti-1',
  };
  return { clock, ecs, roles, policies, mesh, enrollments, addresses, log, guard, signed, sts, enrollment, reconcile, exchange };
}

export type AppWorld = ReturnType<typeof appWorld>;
