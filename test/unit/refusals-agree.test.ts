/**
 * Every refusal of the one enrollment decision, put through the four paths that take it:
 * task-events records it, the reconciler leaves the task out of the mesh (no `missing` repair,
 * pass after pass), the auth exchange refuses it with its own code and issues no token, and
 * explain shows it. One row per refusal (the table is keyed by the decision's refusals, so a new
 * one does not compile without its row), plus an allowed task all four admit.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMeshApi } from '../../shared/adapters/file-mesh-api.js';
import type { RefusalReason } from '../../shared/app/decide-enrollment.js';
import { enrollTasks } from '../../shared/app/enroll-tasks.js';
import { exchangeToken, type ExchangeDeps } from '../../shared/app/exchange-token.js';
import { explainDecision } from '../../shared/app/explain-decision.js';
import { reconcileTasks, type ReconcileDeps } from '../../shared/app/reconcile-tasks.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { REASONS, type ExchangeReason } from '../../shared/core/reasons.js';
import type { EcsTaskDescription, TaskDefinitionFacts, TaskStateChangeEvent } from '../../shared/core/task.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_ID_LABEL } from '../../shared/core/workload-entry.js';
import { ACCOUNT, NOW, aGroup, aPolicy } from '../fixtures/builders.js';
import { SERVER_ID, TASK_ARN, TASK_ID, signedExchangeBody } from '../fixtures/signed-exchange.js';
import { InMemoryAddressClaims, InMemoryEnrollmentStore } from '../support/in-memory-ports.js';
import { MemoryLog } from '../support/memory-log.js';

const CLUSTER_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`;
const DEF = `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/ratings:1`;
const ROLE_NAME = 'ratings-task';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE_NAME}`;
const ROLE_ID = 'AROAEXAMPLEROLEID0001';
const HOLDER_ID = 'fedcba9876543210fedcba9876543210';
const HOLDER_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/${HOLDER_ID}`;

/** What one row changes in a task that is otherwise allowed. */
interface World {
  taskTags: Record<string, string>;
  roleTags: Record<string, string>;
  definition: TaskDefinitionFacts;
  privateIpv4: string | undefined;
  group: WorkloadGroup;
  policyAccount: string;
  /** Another running task of the same identity and address (overlapping CIDRs), enrolled first. */
  addressHolder?: boolean;
}

const allowed: World = {
  taskTags: { 'ecsmesh.io/workload-group': 'bookinfo/ratings' },
  roleTags: { team: 'ratings' },
  definition: { taskDefinitionArn: DEF, networkMode: 'awsvpc', taskRoleArn: ROLE_ARN },
  privateIpv4: '10.0.0.7',
  group: aGroup(),
  policyAccount: ACCOUNT,
};

interface Row {
  change: Partial<World>;
  /** The exchange's code for this refusal. */
  exchange: ExchangeReason;
}

const ROWS: Record<RefusalReason, Row> = {
  [REASONS.NO_WORKLOAD_GROUP_TAG]: { change: { taskTags: {} }, exchange: 'TAG_MISSING' },
  [REASONS.INVALID_WORKLOAD_GROUP_TAG]: { change: { taskTags: { 'ecsmesh.io/workload-group': 'bookinfo' } }, exchange: 'TAG_MISSING' },
  [REASONS.NO_TASK_ROLE]: { change: { definition: { taskDefinitionArn: DEF, networkMode: 'awsvpc' } }, exchange: 'TASK_ROLE_MISMATCH' },
  [REASONS.TASK_ROLE_NOT_FOUND]: { change: { definition: { ...allowed.definition, taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/deleted-role` } }, exchange: 'TASK_ROLE_MISMATCH' },
  [REASONS.TASK_ROLE_OTHER_ACCOUNT]: { change: { definition: { ...allowed.definition, taskRoleArn: `arn:aws:iam::999999999999:role/${ROLE_NAME}` } }, exchange: 'TASK_ROLE_MISMATCH' },
  [REASONS.NETWORK_MODE_UNSUPPORTED]: { change: { definition: { ...allowed.definition, networkMode: 'bridge' } }, exchange: 'NETWORK_MODE_UNSUPPORTED' },
  [REASONS.NO_PRIVATE_IP]: { change: { privateIpv4: undefined }, exchange: 'NO_PRIVATE_IP' },
  [REASONS.WORKLOAD_GROUP_NOT_FOUND]: { change: { taskTags: { 'ecsmesh.io/workload-group': 'bookinfo/absent' } }, exchange: 'GROUP_NOT_FOUND' },
  [REASONS.POLICY_DENIED]: { change: { policyAccount: '210987654321' }, exchange: 'POLICY_DENIED' },
  // Istio refuses a port name with an underscore: the group's template renders an entry the CRD refuses.
  [REASONS.ENTRY_INVALID]: { change: { group: aGroup({ template: { ports: { http_alt: 9080 } } }) }, exchange: 'ENTRY_INVALID' },
  // Another account's task with the same private address (overlapping CIDRs) is in the mesh.
  [REASONS.ADDRESS_IN_USE]: { change: { addressHolder: true }, exchange: 'ADDRESS_IN_USE' },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'refusals-agree-'));
  mkdirSync(join(dir, 'workloadgroups'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The four paths' deps over one world: the same ECS, IAM, policies, mesh and records. */
function build(world: World) {
  writeFileSync(join(dir, 'workloadgroups', 'g.yaml'), JSON.stringify(world.group));
  const task: EcsTaskDescription = {
    taskArn: TASK_ARN,
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: DEF,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    launchType: 'FARGATE',
    availabilityZone: 'us-east-1b',
    ...(world.privateIpv4 ? { privateIpv4: world.privateIpv4 } : {}),
    tags: world.taskTags,
    version: 3,
  };
  const holder: EcsTaskDescription = { ...task, taskArn: HOLDER_ARN };
  const ecsTasks = new Map([[TASK_ID, task], ...(world.addressHolder ? [[HOLDER_ID, holder] as const] : [])]);
  const enrollments = new InMemoryEnrollmentStore();
  const addresses = new InMemoryAddressClaims((taskId) => enrollments.records.get(taskId)?.phase);
  const mesh = new FileMeshApi(dir, () => NOW);
  const log = new MemoryLog();
  const policy = aPolicy({ allow: [{ workloads: [{ aws: { accounts: [world.policyAccount], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] });
  const shared = {
    tasks: {
      describeTasks: async (_cluster: string, arns: string[]) => new Map([...ecsTasks].filter(([, t]) => arns.includes(t.taskArn))),
      describeTaskDefinition: async () => world.definition,
    },
    roles: { getRole: async (arn: string) => (arn === ROLE_ARN ? { arn, name: ROLE_NAME, roleId: ROLE_ID, accountId: ACCOUNT, tags: world.roleTags } : undefined) },
    policies: { listPolicies: async () => [{ valid: true as const, name: policy.metadata.name, revision: 1, policy }] },
    mesh,
    addresses,
  };
  const reconcile: ReconcileDeps = {
    ...shared,
    enrollments,
    log,
    tombstoneTtlSeconds: 60,
    deployment: 'ecs-mesh-onboarding',
    inventory: { listClusters: async () => [CLUSTER_ARN], listRunningTaskArns: async () => [...ecsTasks.values()].map((t) => t.taskArn) },
    settings: { graceSeconds: 60, maxTasksPerPass: 100, describeCallsPerSecond: 1000 },
    sleep: async () => {},
  };
  const signed: string[] = [];
  const signer = { sign: async () => (signed.push('signed'), { token: 'header.claims.signature', kid: 'kid-1', alg: 'ES256' }), publishes: async () => true };
  const exchange: ExchangeDeps = {
    ...shared,
    sts: { verify: async () => ({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/${TASK_ID}`, userId: `${ROLE_ID}:${TASK_ID}`, account: ACCOUNT }) },
    guard: { admit: async () => ({ verdict: 'admitted', limitedRoles: new Set<string>() }), countFailure: async () => {}, withinLimit: async () => true },
    enrollments,
    signers: { istio: signer, kuma: signer },
    log,
    settings: {
      region: 'us-east-1', allowedAccounts: [ACCOUNT], unreadableAccounts: [], audience: SERVER_ID, maxAgeSeconds: 300, maxSkewSeconds: 60, issuer: 'https://issuer.example',
      audiences: ['istio-ca'], meshName: 'mesh', defaultProfile: 'istio', lifetimeSeconds: 3600, ratePerTask: 10, ratePerSource: 30, ratePerRole: 20, ratePerAccount: 120,
    },
    digest: (s) => s,
    newTokenId: () => 'jti-1',
  };
  const event: TaskStateChangeEvent = {
    eventId: 'e1', account: ACCOUNT, region: 'us-east-1', time: NOW.toISOString(), taskId: TASK_ID, clusterName: 'prod', version: 3,
    taskArn: TASK_ARN, clusterArn: CLUSTER_ARN, taskDefinitionArn: DEF, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', launchType: 'FARGATE', availabilityZone: 'us-east-1b',
    ...(world.privateIpv4 ? { privateIpv4: world.privateIpv4 } : {}),
  };
  const holderEvent = world.addressHolder ? { ...event, eventId: 'e0', taskId: HOLDER_ID, taskArn: HOLDER_ARN } : undefined;
  return { reconcile, exchange, enrollments, mesh, event, holderEvent, signed };
}

/** What each of the four paths made of the task. */
async function runFourPaths(world: World) {
  const { reconcile, exchange, enrollments, mesh, event, holderEvent, signed } = build(world);
  if (holderEvent) await enrollTasks([{ id: 'm0', event: holderEvent }], reconcile, NOW);
  await enrollTasks([{ id: 'm1', event }], reconcile, NOW);
  const recorded = await enrollments.get(TASK_ID);
  const later = new Date(NOW.getTime() + 3_600_000);
  const passes = [await reconcileTasks({}, reconcile, later), await reconcileTasks({}, reconcile, later)];
  const exchanged = await exchangeToken({ body: await signedExchangeBody(), sourceIp: '10.1.2.3' }, exchange, NOW);
  const explained = await explainDecision({ subject: { taskArn: TASK_ARN, clusterName: 'prod' } }, exchange);
  const entries = await mesh.listWorkloadEntries({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TASK_ID_LABEL]: TASK_ID });
  return { recorded, passes, exchanged, explained, entries, record: await enrollments.get(TASK_ID), signed };
}

describe('one decision, four paths', () => {
  it.each(Object.entries(ROWS) as [RefusalReason, Row][])('%s: task-events, the reconciler, the exchange and explain all refuse it', async (reason, row) => {
    const { recorded, passes, exchanged, explained, entries, record, signed } = await runFourPaths({ ...allowed, ...row.change });
    // Soft: a path that disagrees does not hide another that does.

    // task-events records the decision's reason.
    expect.soft({ phase: recorded?.phase, reason: recorded?.reason }).toEqual({ phase: reason === REASONS.NO_WORKLOAD_GROUP_TAG ? 'ignored' : 'rejected', reason });
    // The reconciler agrees: no repair on any pass, nothing of the task in the mesh (ADDRESS_IN_USE: only its holder is), the record as task-events left it.
    expect.soft(passes.map((p) => p.repairs)).toEqual([[], []]);
    expect.soft(passes.map((p) => p.unjudged)).toEqual([[], []]);
    expect.soft(entries).toEqual([]);
    expect.soft(record?.reason).toBe(reason);
    // The exchange refuses with the refusal's own code, and signs and records no token.
    expect.soft(exchanged).toMatchObject({ ok: false, reason: row.exchange });
    expect.soft(signed).toEqual([]);
    expect.soft(record?.onboardingToken).toBeUndefined();
    // Explain shows the same reason.
    expect.soft({ allowed: explained.allowed, reason: explained.reason }).toEqual({ allowed: false, reason });
  });

  it('admits an allowed task on all four paths, with the entry the decision validated', async () => {
    const { recorded, passes, exchanged, explained, entries, signed } = await runFourPaths(allowed);

    expect({ phase: recorded?.phase, reason: recorded?.reason }).toEqual({ phase: 'enrolled', reason: REASONS.POLICY_ALLOWED });
    expect(passes.map((p) => p.repairs)).toEqual([[], []]);
    expect(entries.map((e) => e.metadata.name)).toEqual([`ratings-${TASK_ID}`]);
    expect(exchanged).toMatchObject({ ok: true, body: { workloadEntry: { namespace: 'bookinfo', name: `ratings-${TASK_ID}` } } });
    expect(signed).toEqual(['signed']);
    expect({ allowed: explained.allowed, reason: explained.reason }).toEqual({ allowed: true, reason: REASONS.POLICY_ALLOWED });
  });
});
