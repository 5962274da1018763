/**
 * Hub and spoke on the local AWS (docs/multi-account.md#hub-and-spoke): a member account's tasks enrolled
 * and drained through the ECS events its forwarding rule sends to the hub, and repaired by the
 * hub's reconciler (a lost start event, a lost stop event) through the member's own reader role,
 * which it also lists the member's clusters through. moto serves each account apart: AssumeRole
 * into another account's role acts in that account.
 *
 * Forwarding (local/member-event-forwarding.ts): the member's ECS events are made by a local event
 * source watching the member's ECS (with its credentials) and published on the member's bus, as
 * ECS does there; they reach the hub's queue as the hub's rule delivers them. moto's own
 * bus-to-bus forwarding cannot stand in: it stamps the event with the hub's account, which
 * task-events rightly refuses for a task of another (a forwarded event keeps the member's on AWS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { reconcileTasks, type ReconcileDeps } from '../../shared/app/reconcile-tasks.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { MemberEventForwarding } from '../../local/member-event-forwarding.js';
import { aPolicy } from '../fixtures/builders.js';
import { asFunction } from '../support/aws-call-recorder.js';
import { readCloudFormationYaml } from '../support/cloudformation-yaml.js';
import { matchesPattern } from '../support/event-pattern.js';
import { MemberAccount } from '../support/member-account.js';
import { MemoryLog } from '../support/memory-log.js';
import { Pipeline } from '../support/pipeline.js';

const MEMBER = '444455556666';
/** An account that is no member of this hub, though a policy would allow its tasks. */
const STRANGER = '777788889999';
/** The member deploys its reader role under its own name; every other account would use the default. */
const MEMBER_ROLE = 'payments-mesh-reader';
const DEFAULT_ROLE = 'ecs-mesh-reader';
const MEMBER_SETTINGS = { CROSS_ACCOUNT_ROLE_NAME: DEFAULT_ROLE, MEMBER_ROLE_NAMES: `${MEMBER}=${MEMBER_ROLE}` };
/** The same, as the hub stack's params: what its roles' grants are resolved with for the IAM check. */
const STACK_PARAMS = { CrossAccountRoleName: DEFAULT_ROLE, MemberRoleNames: `${MEMBER}=${MEMBER_ROLE}`, MemberAccounts: MEMBER };

const GROUP = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadGroup',
  metadata: { name: 'payments', namespace: 'bookinfo', labels: { app: 'payments' } },
  spec: { metadata: { labels: { app: 'payments' } }, template: { serviceAccount: 'payments', network: 'vpc-1', ports: { http: 8080 } } },
};
const MEMBER_TEMPLATE = readCloudFormationYaml(join(import.meta.dirname, '..', '..', 'deploy', 'member-account-role.yaml'));

let p: Pipeline;
let member: MemberAccount;
let stranger: MemberAccount;
let forwarding: MemberEventForwarding;
let taskDefinition: string;
let strangerTaskDefinition: string;
let memberCluster: string;
/** Every role the hub assumed, by ARN. */
const assumed: string[] = [];
const log = new MemoryLog();

const hubReconcileDeps = (): ReconcileDeps => p.reconcileDeps({ ...MEMBER_SETTINGS, MEMBER_ACCOUNTS: MEMBER }, log);

/** A scheduled pass of the hub's reconciler, its calls recorded as the reconcile role's. */
const reconcile = () => asFunction(p.scope('reconcile'), () => reconcileTasks({}, hubReconcileDeps(), new Date()));

/**
 * ECS in the member account emits what changed, its forwarding rule sends it to the hub (unless the
 * events are `lost` on the way), and task-events takes what the hub's queue holds.
 */
async function memberEcsEmits(options: { lost?: boolean } = {}) {
  const emitted = await forwarding.pollOnce({ lose: options.lost });
  const rule = MEMBER_TEMPLATE.Resources.TaskStateChangeForwardingRule!.Properties;
  // Every one is an event the member template's rule forwards.
  expect(emitted.filter((e) => !matchesPattern(rule.EventPattern, e as unknown as Record<string, unknown>))).toEqual([]);
  const { failed } = await p.pump({ publish: false });
  expect(failed).toEqual([]);
  return emitted;
}

const entryOf = (taskArn: string) => p.entries().find((e) => e.metadata.annotations?.['ecsmesh.io/task-arn'] === taskArn) as WorkloadEntry | undefined;

beforeAll(async () => {
  p = await Pipeline.start('-hub-and-spoke', MEMBER_SETTINGS);
  p.stackParams = STACK_PARAMS;
  p.clients.sts.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'AssumeRoleCommand') assumed.push((args.input as { RoleArn: string }).RoleArn);
      return next(args);
    },
    { step: 'initialize', name: 'seeAssumedRoles' },
  );
  member = await MemberAccount.open(MEMBER);
  stranger = await MemberAccount.open(STRANGER);
  for (const account of [member, stranger]) {
    // moto checks no trust policy: the role exists so the hub has something named to assume.
    await account.createRole(MEMBER_ROLE);
    await account.createRole(DEFAULT_ROLE);
  }
  const taskRole = await member.createRole('payments-task', { team: 'payments', 'ecsmesh.io/workload-group': 'bookinfo/payments' });
  memberCluster = await member.createCluster('payments');
  taskDefinition = await member.registerTaskDefinition('payments', taskRole);
  await stranger.createCluster('payments');
  strangerTaskDefinition = await stranger.registerTaskDefinition('payments', await stranger.createRole('payments-task', { team: 'payments', 'ecsmesh.io/workload-group': 'bookinfo/payments' }));
  await p.putPolicy(
    aPolicy({
      name: 'allow-payments',
      allow: [{ workloads: [{ aws: { accounts: [MEMBER, STRANGER], ecs: { clusters: ['payments'], iamRoleTags: { team: ['payments'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'payments' } } }] }],
    }),
  );
  p.k8s.seed(GROUP);
  forwarding = new MemberEventForwarding({ member: member.settings, hub: { sqs: p.clients.sqs, queueUrl: p.stack.queueUrl } });
});

afterAll(() => p?.stop());

describe('hub and spoke: a member account through its forwarded events', () => {
  it("enrolls a member's task from the events its rule forwards, reading it through the member's own reader role", async () => {
    const taskArn = await member.runTask('payments', taskDefinition);

    const emitted = await memberEcsEmits();

    expect(emitted.length).toBeGreaterThan(0);
    // A forwarded event keeps the member as its account, as task-events checks against the task's ARN.
    expect(new Set(emitted.map((e) => e.account))).toEqual(new Set([MEMBER]));
    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', clusterArn: memberCluster, workloadGroup: 'payments' });
    expect(entryOf(taskArn)).toMatchObject({ metadata: { namespace: 'bookinfo', annotations: { 'ecsmesh.io/cluster-arn': memberCluster } } });
    expect([...new Set(assumed)]).toEqual([`arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE}`]);
  });

  it("drains a member's task on its forwarded stop", async () => {
    const taskArn = await member.runTask('payments', taskDefinition);
    await memberEcsEmits();
    expect(entryOf(taskArn)).toBeDefined();

    await member.stopTask('payments', taskArn);
    await memberEcsEmits();

    expect(entryOf(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered' });
  });
});

describe("hub and spoke: the hub's reconciler covers the member's clusters", () => {
  it("enrolls a member's task whose start events were lost, listing the member's clusters through its reader role", async () => {
    const taskArn = await member.runTask('payments', taskDefinition);
    await memberEcsEmits({ lost: true });
    const assumedBefore = assumed.length;

    const report = await reconcile();

    expect(report.clusters).toContain(memberCluster);
    // Listing and describing share the member's clients: one AssumeRole a pass (a new container here).
    expect(assumed.slice(assumedBefore)).toEqual([`arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE}`]);
    expect(report.repairs).toEqual([expect.objectContaining({ taskArn, kind: 'missing', applied: true })]);
    expect(entryOf(taskArn)).toBeDefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', repair: { kind: 'missing' } });
  });

  it("removes a member's task whose stop events were lost", async () => {
    const taskArn = await member.runTask('payments', taskDefinition);
    await memberEcsEmits();
    await member.stopTask('payments', taskArn);
    await memberEcsEmits({ lost: true });

    const report = await reconcile();

    expect(report.repairs).toEqual([expect.objectContaining({ taskArn, applied: true })]);
    expect(entryOf(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered', reason: 'TASK_GONE' });
  });

  it('lists no account that is not a member, and leaves the entries of another deployment alone', async () => {
    const strangerTask = await stranger.runTask('payments', strangerTaskDefinition);
    // Another hub's entry for a member task gone from ECS: only that deployment may judge it.
    const template = entryOf(await enrolledMemberTask())!;
    const theirs = `${memberCluster.replace(':cluster/', ':task/')}/${'e1'.repeat(16)}`;
    p.k8s.seed({
      ...template,
      metadata: {
        name: `payments-${'e1'.repeat(16)}`,
        namespace: 'bookinfo',
        labels: { ...template.metadata.labels, 'ecsmesh.io/task-id': 'e1'.repeat(16), 'ecsmesh.io/deployment': 'ecs-mesh-onboarding-other-hub' },
        annotations: { ...template.metadata.annotations, 'ecsmesh.io/task-arn': theirs, 'ecsmesh.io/cluster-arn': memberCluster },
      },
    } as never);

    const report = await reconcile();

    expect(report.clusters.filter((c) => c.includes(`:${STRANGER}:`))).toEqual([]);
    expect(report.repairs.filter((r) => r.taskArn === strangerTask || r.taskArn === theirs)).toEqual([]);
    expect(entryOf(strangerTask)).toBeUndefined();
    expect(entryOf(theirs)).toBeDefined();
    expect(assumed.filter((arn) => arn.includes(`::${STRANGER}:`))).toEqual([]);
  });
});

/** A member task enrolled through its forwarded events. */
async function enrolledMemberTask(): Promise<string> {
  const taskArn = await member.runTask('payments', taskDefinition);
  await memberEcsEmits();
  return taskArn;
}
