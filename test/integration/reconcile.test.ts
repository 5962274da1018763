/**
 * The reconciler against moto and the Kubernetes API double: each repair kind, the grace period,
 * the fencing against newer events (both orders), bounded passes with a cursor, dry runs, and
 * backoff on DescribeTasks throttling.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { TagRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createReconcileHandler } from '../../functions/reconcile/handler.js';
import { reconcileTasks as reconcileUnrecorded, type ReconcileDeps, type ReconcileOptions } from '../../shared/app/reconcile-tasks.js';
import { asFunction, asHandler } from '../support/aws-call-recorder.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import type { EnrollmentRecord } from '../../shared/core/enrollment.js';
import { aPolicy, aRecord } from '../fixtures/builders.js';
import { aTaskStateChange } from '../fixtures/ecs-events.js';
import { MemoryLog } from '../support/memory-log.js';
import { Pipeline } from '../support/pipeline.js';
import { connectSidecar, istiodOverHttp, ISTIOD_RBAC } from '../support/istiod-model/http-store.js';

let p: Pipeline;
/** A pass, its AWS calls recorded as the reconcile role's for the IAM check. */
const reconcileTasks = (options: ReconcileOptions, d: ReconcileDeps, now: Date) => asFunction(p.scope('reconcile'), () => reconcileUnrecorded(options, d, now));
let clusterArn: string;
let taskDef: string;
let deps: ReconcileDeps;
const log = new MemoryLog();

const GROUP = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadGroup',
  // Lets tasks set `track`: task-events caches groups, so the opt-in must be there from the start.
  metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' }, annotations: { 'ecsmesh.io/task-label-keys': 'track' } },
  // A probe makes entries health-checked, the only ones istiod writes (IsEligibleForHealthStatusUpdates).
  spec: {
    metadata: { labels: { app: 'ratings', version: 'v1' } },
    template: { serviceAccount: 'bookinfo-ratings', network: 'vpc-1', ports: { http: 9080 } },
    probe: { periodSeconds: 5, tcpSocket: { port: 9080 } },
  },
};

function reconcileDeps(overrides: Partial<ReconcileDeps['settings']> = {}, env: Record<string, string> = {}): ReconcileDeps {
  return p.reconcileDeps(env, log, overrides);
}

const entryOf = (taskArn: string) => p.entries().find((e) => e.metadata.annotations?.['ecsmesh.io/task-arn'] === taskArn) as WorkloadEntry | undefined;
const taskIdOf = (taskArn: string) => taskArn.split('/').pop()!;

/** A task run and enrolled through its real event sequence (v1..v3). */
async function enrolledTask(): Promise<string> {
  const [taskArn] = await p.runTask('prod', taskDef);
  await p.pump();
  expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled' });
  return taskArn!;
}

/** Only this test's tasks: the earlier ones are stopped and forgotten so each pass sees its own. */
async function stopEverything(): Promise<void> {
  for (const entry of p.entries()) p.k8s.adminDelete('WorkloadEntry', entry.metadata.namespace, entry.metadata.name);
  await reconcileTasks({}, deps, new Date());
}

beforeAll(async () => {
  p = await Pipeline.start('-reconcile');
  clusterArn = await p.createCluster('prod');
  await p.createCluster('staging');
  const role = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: role });
  await p.putPolicy(aPolicy());
  p.k8s.seed(GROUP);
  deps = reconcileDeps();
});

afterAll(() => p.stop());

// Each test starts from an empty mesh and no running task, so a pass sees that test's tasks only.
beforeEach(async () => {
  for (const cluster of ['prod', 'staging'])
    for (const t of (await p.clients.ecs.send(new ListTasksCommand({ cluster }))).taskArns ?? []) await p.stopTask(cluster, t);
  await p.pump();
  await stopEverything();
  log.lines.length = 0;
});

describe('reconcile: every difference repaired through the decision code', () => {
  it('changes nothing when the mesh already is the truth', async () => {
    await enrolledTask();

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([]);
    expect(report.tasksSeen).toBeGreaterThanOrEqual(1);
  });

  it('missing: puts back an entry deleted by hand, and says so on the record', async () => {
    const taskArn = await enrolledTask();
    const before = entryOf(taskArn)!;
    p.k8s.adminDelete('WorkloadEntry', before.metadata.namespace, before.metadata.name);

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ taskId: taskIdOf(taskArn), kind: 'missing', applied: true })]);
    expect(entryOf(taskArn)?.spec).toEqual(before.spec);
    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', version: 3, repair: { kind: 'missing' }, lastReconciledAt: expect.any(String) });
  });

  it('missing: enrolls an allowed running task whose events were all lost', async () => {
    const [taskArn] = await p.runTask('prod', taskDef); // no pump: not one event delivered

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.counts.missing).toBe(1);
    expect(entryOf(taskArn!)).toBeDefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', reason: 'POLICY_ALLOWED' });
    // The task's real events, arriving late, still apply over the reconciler's record.
    await p.pump();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', version: 3 });
  });

  it('orphaned: removes the entry of a task ECS reports stopped when the stop events were lost', async () => {
    const taskArn = await enrolledTask();
    await p.stopTask('prod', taskArn); // the event source is not polled: no stop event

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ kind: 'orphaned', applied: true })]);
    expect(entryOf(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered', reason: 'TASK_GONE', repair: { kind: 'orphaned' } });
  });

  it('orphaned: leaves an entry of a task ECS does not know within the grace period, removes it after', async () => {
    const taskArn = await enrolledTask();
    const ghost = entryOf(taskArn)!;
    const fakeArn = taskArn.replace(/[^/]+$/, 'f'.repeat(32));
    // A managed entry naming a task ECS never heard of (it may just have started, as far as we know).
    p.k8s.seed({ ...ghost, metadata: { name: `ratings-${'f'.repeat(32)}`, namespace: 'bookinfo', labels: { ...ghost.metadata.labels, 'ecsmesh.io/task-id': 'f'.repeat(32) }, annotations: { ...ghost.metadata.annotations, 'ecsmesh.io/task-arn': fakeArn } } } as never);

    const withinGrace = await reconcileTasks({}, reconcileDeps({ graceSeconds: 120 }), new Date());
    const after = await reconcileTasks({}, reconcileDeps({ graceSeconds: 120 }), new Date(Date.now() + 121_000));

    expect(withinGrace.repairs).toEqual([]);
    expect(after.repairs).toEqual([expect.objectContaining({ taskId: 'f'.repeat(32), kind: 'orphaned', applied: true })]);
    expect(entryOf(fakeArn)).toBeUndefined();
    expect(entryOf(taskArn)).toBeDefined();
  });

  it('stale record: tombstones a record that says enrolled for a task ECS reports stopped', async () => {
    const taskArn = await enrolledTask();
    const entry = entryOf(taskArn)!;
    p.k8s.adminDelete('WorkloadEntry', entry.metadata.namespace, entry.metadata.name);
    await p.stopTask('prod', taskArn);

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ kind: 'stale-record', applied: true })]);
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered', reason: 'TASK_GONE' });
  });

  it('stale record: finds the live records of tasks ECS never lists through the phase index, and leaves the others', async () => {
    const gone = (c: string) => c.repeat(32);
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const unknownTask = (id: string, phase: EnrollmentRecord['phase']) => aRecord({ taskId: id, taskArn: `${clusterArn.replace(':cluster/', ':task/')}/${id}`, clusterArn, phase, namespace: 'bookinfo', workloadGroup: 'ratings', updatedAt: at });
    await p.deps.enrollments.put(unknownTask(gone('a'), 'enrolled'));
    await p.deps.enrollments.put(unknownTask(gone('b'), 'pending'));
    await p.deps.enrollments.put(unknownTask(gone('c'), 'rejected'));
    await p.deps.enrollments.put(unknownTask(gone('d'), 'deregistered'));

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs.map((r) => [r.taskId, r.kind, r.applied]).sort()).toEqual([
      [gone('a'), 'stale-record', true],
      [gone('b'), 'stale-record', true],
    ]);
    expect(await p.record(`x/${gone('c')}`)).toMatchObject({ phase: 'rejected', version: 3 });
  });

  it('revoked: a narrowed policy removes the task from the mesh, and the record says which rule refuses it', async () => {
    const taskArn = await enrolledTask();
    await p.putPolicy(aPolicy({ allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: { clusters: ['prod'], iamRoleTags: { team: ['payments'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] }));
    try {
      const report = await reconcileTasks({}, deps, new Date());

      expect(report.repairs).toEqual([expect.objectContaining({ kind: 'revoked', applied: true })]);
      expect(entryOf(taskArn)).toBeUndefined();
      const record = await p.record(taskArn);
      expect(record).toMatchObject({ phase: 'rejected', reason: 'POLICY_REVOKED', repair: { kind: 'revoked' } });
      expect(record?.detail).toMatch(/allow-ratings: rule 0: .*team/);
    } finally {
      await p.putPolicy(aPolicy());
    }
  });

  it('drifted: re-applies entries in place when the group template changes', async () => {
    const taskArn = await enrolledTask();
    const group = p.k8s.objects('WorkloadGroup').find((g) => g.metadata.name === 'ratings')!;
    p.k8s.adminReplace({ ...group, spec: { ...GROUP.spec, template: { ...GROUP.spec.template, ports: { http: 9090 } } } } as never);
    try {
      const report = await reconcileTasks({}, deps, new Date());

      expect(report.repairs).toEqual([expect.objectContaining({ kind: 'drifted', applied: true })]);
      expect(entryOf(taskArn)?.spec.ports).toEqual({ http: 9090 });
      expect((await reconcileTasks({}, deps, new Date())).repairs).toEqual([]);
    } finally {
      const now = p.k8s.objects('WorkloadGroup').find((g) => g.metadata.name === 'ratings')!;
      p.k8s.adminReplace({ ...now, spec: GROUP.spec } as never);
    }
  });

  it('drifted: takes a task label off the entry when its group stops opting the key in, and records why', async () => {
    const optIn = (annotations: Record<string, string>) => {
      const group = p.k8s.objects('WorkloadGroup').find((g) => g.metadata.name === 'ratings')!;
      p.k8s.adminReplace({ ...group, metadata: { ...group.metadata, annotations } } as never);
    };
    try {
      const [taskArn] = await p.runTask('prod', taskDef, { tags: { 'ecsmesh.io/label/track': 'canary' } });
      await p.pump();
      expect(entryOf(taskArn!)?.spec.labels).toEqual({ app: 'ratings', version: 'v1', track: 'canary' });
      optIn({});

      const report = await reconcileTasks({}, deps, new Date());

      expect(report.repairs).toEqual([expect.objectContaining({ kind: 'drifted', applied: true })]);
      expect(entryOf(taskArn!)?.spec.labels).toEqual({ app: 'ratings', version: 'v1' });
      expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', droppedLabels: [{ key: 'track', reason: 'TASK_LABEL_NOT_OPTED_IN' }] });
    } finally {
      optIn(GROUP.metadata.annotations);
    }
  });

  it('drifted: undoes a hand edit of the entry', async () => {
    const taskArn = await enrolledTask();
    const entry = entryOf(taskArn)!;
    p.k8s.adminReplace({ ...entry, spec: { ...entry.spec, weight: 99 } } as never);

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ kind: 'drifted', applied: true })]);
    expect(entryOf(taskArn)?.spec.weight).toBeUndefined();
  });

  it("drifted: moves a task to its role's new group, and removes the entry of the old one", async () => {
    const movingRole = await p.createRole('moving-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
    const [taskArn] = await p.runTask('prod', await p.registerTaskDefinition('moving', { roleArn: movingRole }));
    await p.pump();
    p.k8s.seed({ ...GROUP, metadata: { ...GROUP.metadata, name: 'ratings-v2' } });
    await p.clients.iam.send(new TagRoleCommand({ RoleName: 'moving-task', Tags: [{ Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ratings-v2' }] }));
    try {
      const report = await reconcileTasks({}, deps, new Date());

      expect(report.repairs).toEqual([expect.objectContaining({ taskId: taskIdOf(taskArn!), kind: 'missing', applied: true })]);
      expect(p.entries().filter((e) => e.metadata.annotations?.['ecsmesh.io/task-arn'] === taskArn).map((e) => e.metadata.name)).toEqual([`ratings-v2-${taskIdOf(taskArn!)}`]);
      expect((await reconcileTasks({}, deps, new Date())).repairs).toEqual([]);
    } finally {
      p.k8s.adminDelete('WorkloadGroup', 'bookinfo', 'ratings-v2');
    }
  });

  it('group gone: removes the entries of a deleted WorkloadGroup and records why', async () => {
    const taskArn = await enrolledTask();
    p.k8s.adminDelete('WorkloadGroup', 'bookinfo', 'ratings');
    try {
      const report = await reconcileTasks({}, deps, new Date());

      expect(report.repairs).toEqual([expect.objectContaining({ kind: 'group-gone', applied: true })]);
      expect(entryOf(taskArn)).toBeUndefined();
      expect(await p.record(taskArn)).toMatchObject({ phase: 'rejected', reason: 'WORKLOAD_GROUP_DELETED' });
    } finally {
      p.k8s.seed(GROUP);
    }
  });
});

describe('revocation without waiting for the schedule, through the reconcile handler', () => {
  const handler = () => asHandler(p.scope('reconcile'), createReconcileHandler(deps, new Logger({ logLevel: 'SILENT' }), new Metrics({ namespace: 'test', serviceName: 'reconcile' })));
  const invoke = (event: unknown) => (handler() as unknown as (e: unknown, c: unknown) => Promise<{ counts: Record<string, number> }[]>)(event, { functionName: 'reconcile' });

  it('re-evaluates the namespace a policy stream record names', async () => {
    const taskArn = await enrolledTask();
    await p.putPolicy(aPolicy({ allow: [] }));
    try {
      const reports = await invoke({ Records: [{ eventSource: 'aws:dynamodb', eventName: 'MODIFY', dynamodb: { Keys: { namespace: { S: 'bookinfo' }, name: { S: 'allow-ratings' } } } }] });

      expect(reports.map((r) => r.counts.revoked)).toEqual([1]);
      expect(entryOf(taskArn)).toBeUndefined();
      expect(await p.record(taskArn)).toMatchObject({ phase: 'rejected', reason: 'POLICY_REVOKED' });
    } finally {
      await p.putPolicy(aPolicy());
    }
  });

  it('counts the AWS calls of each pass in its metrics', async () => {
    await enrolledTask();
    const metrics = new Metrics({ namespace: 'test', serviceName: 'reconcile' });
    const added = vi.spyOn(metrics, 'addMetric');
    const counted = asHandler(p.scope('reconcile'), createReconcileHandler(deps, new Logger({ logLevel: 'SILENT' }), metrics, {}, p.calls)) as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    const before = [...p.calls.values()].reduce((a, b) => a + b, 0);

    await counted({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, { functionName: 'reconcile' });

    const made = [...p.calls.values()].reduce((a, b) => a + b, 0) - before;
    expect(made).toBeGreaterThan(3);
    expect(added).toHaveBeenCalledWith('reconcile_aws_calls', 'Count', made);
  });

  it("re-evaluates the tasks of a role whose tag IAM's CloudTrail event says was removed, and only those", async () => {
    const otherRole = await p.createRole('ratings-canary', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
    const otherDef = await p.registerTaskDefinition('ratings-canary', { roleArn: otherRole });
    const kept = await enrolledTask();
    const [revoked] = await p.runTask('prod', otherDef);
    await p.pump();
    await p.clients.iam.send(new UntagRoleCommand({ RoleName: 'ratings-canary', TagKeys: ['team'] }));
    // Break the kept task's entry too: a pass for the other role must not touch it.
    const keptEntry = entryOf(kept)!;
    p.k8s.adminDelete('WorkloadEntry', keptEntry.metadata.namespace, keptEntry.metadata.name);

    const reports = await invoke({ source: 'aws.iam', 'detail-type': 'AWS API Call via CloudTrail', detail: { eventSource: 'iam.amazonaws.com', eventName: 'UntagRole', requestParameters: { roleName: 'ratings-canary', tagKeys: ['team'] } } });

    expect(reports.map((r) => r.counts)).toEqual([expect.objectContaining({ revoked: 1, missing: 0 })]);
    expect(entryOf(revoked!)).toBeUndefined();
    expect(await p.record(revoked!)).toMatchObject({ phase: 'rejected', reason: 'POLICY_REVOKED' });
  });

  it('finds the tasks of the role a CloudTrail event names in another case than the task definition (IAM role names ignore case)', async () => {
    const role = await p.createRole('ratings-shadow', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
    const [revoked] = await p.runTask('prod', await p.registerTaskDefinition('ratings-shadow', { roleArn: role }));
    await p.pump();
    await p.clients.iam.send(new UntagRoleCommand({ RoleName: 'ratings-shadow', TagKeys: ['team'] }));

    // What CloudTrail records is the name as the caller typed it, and IAM accepted this spelling.
    const reports = await invoke({ source: 'aws.iam', 'detail-type': 'AWS API Call via CloudTrail', detail: { eventSource: 'iam.amazonaws.com', eventName: 'UntagRole', requestParameters: { roleName: 'Ratings-SHADOW', tagKeys: ['team'] } } });

    expect(reports.map((r) => r.counts)).toEqual([expect.objectContaining({ revoked: 1 })]);
    expect(await p.record(revoked!)).toMatchObject({ phase: 'rejected', reason: 'POLICY_REVOKED' });
  });
});

describe('reconcile never undoes a newer event (fencing)', () => {
  it('a stop applied while the pass re-applies an entry wins: the entry is removed again', async () => {
    const taskArn = await enrolledTask();
    const entry = entryOf(taskArn)!;
    p.k8s.adminDelete('WorkloadEntry', entry.metadata.namespace, entry.metadata.name);
    // The pass has read ECS (version 3); before it applies, task-events handles the stop (v4, v5).
    const fenced = reconcileDeps();
    const apply = fenced.mesh.applyWorkloadEntry.bind(fenced.mesh);
    fenced.mesh.applyWorkloadEntry = async (e) => {
      await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' }), aTaskStateChange({ taskArn, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })]);
      return apply(e);
    };

    const report = await reconcileTasks({}, fenced, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ kind: 'missing', applied: false, error: expect.stringContaining('newer event') })]);
    expect(entryOf(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered', version: 5 });
  });

  it('a stop applied after the pass wins as well', async () => {
    const taskArn = await enrolledTask();
    const entry = entryOf(taskArn)!;
    p.k8s.adminDelete('WorkloadEntry', entry.metadata.namespace, entry.metadata.name);

    await reconcileTasks({}, deps, new Date());
    expect(entryOf(taskArn)).toBeDefined();
    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' })]);

    expect(entryOf(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'draining', version: 4 });
  });

  it('a pass that read ECS before a newer event does not write over it', async () => {
    const taskArn = await enrolledTask();
    // A pass that judged the task revoked at v3; the record moved on to v6 meanwhile.
    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 6, lastStatus: 'RUNNING' })]);
    const record = await p.record(taskArn);

    await expect(asFunction(p.scope('reconcile'), () => deps.enrollments.putReconciled({ ...record!, phase: 'rejected', reason: 'POLICY_REVOKED', detail: 'x' }, 3))).rejects.toThrow(/newer|not newer/);
    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', version: 6 });
  });
});

describe('reconcile at scale: bounded work and ECS limits', () => {
  it('judges at most maxTasksPerPass tasks an invocation and carries on from the cursor', async () => {
    const taskArns = await p.runTask('prod', taskDef, { count: 5 });
    const bounded = reconcileDeps({ maxTasksPerPass: 2 });
    const judged: number[] = [];
    let complete = false;
    for (let pass = 0; pass < 10 && !complete; pass++) {
      const report = await reconcileTasks({ useCursor: true }, bounded, new Date());
      judged.push(report.tasksJudged);
      complete = report.complete;
    }

    expect(judged.every((n) => n <= 2)).toBe(true);
    expect(complete).toBe(true);
    for (const taskArn of taskArns) expect(entryOf(taskArn)).toBeDefined();
    expect(await bounded.cursor!.load()).toBeUndefined();
  });

  it('reports a task whose facts fail to load and still repairs the others', async () => {
    const [first, second] = [await enrolledTask(), await enrolledTask()];
    for (const taskArn of [first, second]) {
      const entry = entryOf(taskArn)!;
      p.k8s.adminDelete('WorkloadEntry', entry.metadata.namespace, entry.metadata.name);
    }
    const flaky = reconcileDeps();
    const getRole = flaky.roles.getRole.bind(flaky.roles);
    let reads = 0;
    flaky.roles = { getRole: async (arn) => (reads++ === 0 ? Promise.reject(new Error('iam:GetRole: socket hang up')) : getRole(arn)) } as typeof flaky.roles;

    const report = await reconcileTasks({}, flaky, new Date());

    expect(report.unjudged).toEqual([expect.objectContaining({ error: 'iam:GetRole: socket hang up' })]);
    expect(report.repairs).toEqual([expect.objectContaining({ kind: 'missing', applied: true })]);
    const unjudged = report.unjudged[0]!.taskArn;
    expect(entryOf(unjudged)).toBeUndefined();
    expect(entryOf([first, second].find((t) => t !== unjudged)!)).toBeDefined();
    // The next pass judges it again.
    expect((await reconcileTasks({}, deps, new Date())).repairs).toEqual([expect.objectContaining({ taskArn: unjudged, kind: 'missing', applied: true })]);
  });
});

describe('reconcile within ecsClusters', () => {
  it("lists and describes tasks only in the deployment's clusters, whatever a pass asks for", async () => {
    await p.runTask('prod', taskDef);
    await p.runTask('staging', taskDef);
    const bounded = reconcileDeps({}, { ECS_CLUSTERS: 'prod' });
    const listed: string[] = [];
    const described: string[] = [];
    const { inventory, tasks } = bounded;
    bounded.inventory = { listClusters: () => inventory.listClusters(), listRunningTaskArns: (cluster) => (listed.push(cluster), inventory.listRunningTaskArns(cluster)) };
    bounded.tasks = { describeTaskDefinition: (arn) => tasks.describeTaskDefinition(arn), describeTasks: (cluster, arns) => (described.push(cluster), tasks.describeTasks(cluster, arns)) };
    // Recorded with the param set, so the IAM check evaluates these calls against the narrowed grants.
    const pass = (options: ReconcileOptions) => asFunction(p.scope('reconcile', { EcsClusters: 'prod' }), () => reconcileUnrecorded({ ...options, dryRun: true }, bounded, new Date()));

    const scheduled = await pass({});
    const elsewhere = await pass({ clusters: ['staging'] });

    expect([scheduled.clusters, elsewhere.clusters]).toEqual([[clusterArn], []]);
    expect([...new Set(listed)]).toEqual([clusterArn]);
    expect(described.length).toBeGreaterThan(0);
    expect([...new Set(described)]).toEqual([clusterArn]);
  });
});

describe('reconcile judges every entry and record this deployment owns, whatever its cluster', () => {
  const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
  /** `cluster/<name>` of this account and region, created in ECS or not. */
  const clusterNamed = (name: string) => clusterArn.replace(/cluster\/.*$/, `cluster/${name}`);
  const taskIn = (cluster: string, id: string) => `${cluster.replace(':cluster/', ':task/')}/${id}`;

  /** A managed entry of a task known only to the mesh (and our table, if `record`), copied from `template`. */
  async function seedTask(template: WorkloadEntry, taskArn: string, options: { deployment: string | undefined; record: boolean }): Promise<void> {
    const taskId = taskIdOf(taskArn);
    const entryClusterArn = taskArn.replace(/:task\/([^/]+)\/.*$/, ':cluster/$1');
    const labels = Object.fromEntries(Object.entries(template.metadata.labels ?? {}).filter(([k]) => k !== 'ecsmesh.io/deployment'));
    p.k8s.seed({
      ...template,
      metadata: {
        name: `ratings-${taskId}`,
        namespace: 'bookinfo',
        labels: { ...labels, 'ecsmesh.io/task-id': taskId, ...(options.deployment === undefined ? {} : { 'ecsmesh.io/deployment': options.deployment }) },
        annotations: { ...template.metadata.annotations, 'ecsmesh.io/task-arn': taskArn, 'ecsmesh.io/cluster-arn': entryClusterArn },
      },
    } as never);
    if (options.record)
      await p.deps.enrollments.put(aRecord({ taskId, taskArn, clusterArn: entryClusterArn, clusterName: entryClusterArn.split('/').pop()!, phase: 'enrolled', namespace: 'bookinfo', workloadGroup: 'ratings', entryName: `ratings-${taskId}`, updatedAt: hourAgo() }));
  }

  // moto keeps a deleted cluster listed (INACTIVE) and describes its tasks; ECS lists it no more and
  // answers ClusterNotFoundException. A cluster ECS never had is the same to the pass.
  it('removes the entry and live record of a task whose cluster ECS no longer lists: ECS does not know the task', async () => {
    const template = entryOf(await enrolledTask())!;
    const taskArn = taskIn(clusterNamed('retired'), 'c1'.repeat(16));
    await seedTask(template, taskArn, { deployment: deps.deployment, record: true });

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ taskId: taskIdOf(taskArn), kind: 'orphaned', applied: true })]);
    expect(entryOf(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered', reason: 'TASK_GONE', repair: { kind: 'orphaned', why: 'ECS does not know the task' } });
  });

  it('removes the entry and live record of a task in a cluster dropped from ecsClusters, without asking ECS about that cluster', async () => {
    const taskArn = await enrolledTask();
    // ecsClusters was prod (or empty); now it names staging only.
    const narrowed = reconcileDeps({}, { ECS_CLUSTERS: 'staging' });
    const described: string[] = [];
    const { tasks } = narrowed;
    narrowed.tasks = { describeTaskDefinition: (arn) => tasks.describeTaskDefinition(arn), describeTasks: (cluster, arns) => (described.push(cluster), tasks.describeTasks(cluster, arns)) };

    // Recorded with the param set, so the IAM check evaluates these calls against the narrowed grants.
    const report = await asFunction(p.scope('reconcile', { EcsClusters: 'staging' }), () => reconcileUnrecorded({}, narrowed, new Date()));

    expect(report.repairs).toEqual([expect.objectContaining({ taskArn, kind: 'unwatched', applied: true })]);
    expect(entryOf(taskArn)).toBeUndefined();
    const record = await p.record(taskArn);
    expect(record).toMatchObject({ phase: 'rejected', reason: 'CLUSTER_NOT_WATCHED', repair: { kind: 'unwatched' }, expiresAt: expect.any(Number) });
    expect(record?.detail).toMatch(/cluster prod is not in this deployment's ecsClusters/);
    expect(described).toEqual([]);
    // Named again, the cluster's running task is enrolled again, and its record no longer expires.
    expect((await reconcileTasks({}, deps, new Date())).repairs).toEqual([expect.objectContaining({ taskArn, kind: 'missing', applied: true })]);
    expect(entryOf(taskArn)).toBeDefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', reason: 'POLICY_ALLOWED' });
    expect((await p.record(taskArn))?.expiresAt).toBeUndefined();
  });

  it('leaves the tasks of a cluster it cannot read unjudged, and judges the others', async () => {
    const template = entryOf(await enrolledTask())!;
    const unreadable = taskIn(clusterNamed('member-cluster'), 'c2'.repeat(16));
    const gone = taskIn(clusterNamed('retired'), 'c3'.repeat(16));
    await seedTask(template, unreadable, { deployment: deps.deployment, record: true });
    await seedTask(template, gone, { deployment: deps.deployment, record: true });
    // A fault moto cannot produce: another account's cluster, read through a role that is missing.
    const denied = reconcileDeps();
    const { tasks } = denied;
    denied.tasks = { describeTaskDefinition: (arn) => tasks.describeTaskDefinition(arn), describeTasks: (cluster, arns) => (cluster.endsWith('/member-cluster') ? Promise.reject(new Error('ecs:DescribeTasks: AccessDenied')) : tasks.describeTasks(cluster, arns)) };

    const report = await reconcileTasks({}, denied, new Date());

    expect(report.unjudged).toEqual([{ taskId: taskIdOf(unreadable), taskArn: unreadable, error: 'ecs:DescribeTasks: AccessDenied' }]);
    expect(report.repairs).toEqual([expect.objectContaining({ taskId: taskIdOf(gone), kind: 'orphaned', applied: true })]);
    expect(entryOf(unreadable)).toBeDefined();
    expect(await p.record(unreadable)).toMatchObject({ phase: 'enrolled' });
  });

  it("leaves alone the entries another deployment in this account wrote in the same namespace, wherever their cluster", async () => {
    const template = entryOf(await enrolledTask())!;
    const theirs = [taskIn(clusterArn, 'd1'.repeat(16)), taskIn(clusterNamed('retired'), 'd2'.repeat(16))];
    for (const taskArn of theirs) await seedTask(template, taskArn, { deployment: 'ecs-mesh-onboarding-other', record: false });

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([]);
    for (const taskArn of theirs) expect(entryOf(taskArn)).toBeDefined();
  });

  it("removes its own entry of a stopped task and leaves the one another deployment wrote for it", async () => {
    const taskArn = await enrolledTask();
    const ours = entryOf(taskArn)!;
    const theirs = `ratings-v9-${taskIdOf(taskArn)}`;
    p.k8s.seed({ ...ours, metadata: { name: theirs, namespace: 'bookinfo', labels: { ...ours.metadata.labels, 'ecsmesh.io/deployment': 'ecs-mesh-onboarding-other' }, annotations: ours.metadata.annotations } } as never);
    await p.stopTask('prod', taskArn); // the event source is not polled: no stop event

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ taskArn, kind: 'orphaned', applied: true })]);
    expect(p.entries().filter((e) => e.metadata.annotations?.['ecsmesh.io/task-arn'] === taskArn).map((e) => e.metadata.name)).toEqual([theirs]);
  });

  it('adopts an entry written before entries named their deployment when its cluster is listed or our table holds its record, and no other', async () => {
    const running = await enrolledTask();
    const template = entryOf(running)!;
    const unlabelled = Object.fromEntries(Object.entries(template.metadata.labels ?? {}).filter(([k]) => k !== 'ecsmesh.io/deployment'));
    p.k8s.adminReplace({ ...template, metadata: { ...template.metadata, labels: unlabelled } } as never);
    const listed = taskIn(clusterArn, 'e1'.repeat(16));
    const recorded = taskIn(clusterNamed('retired'), 'e2'.repeat(16));
    const stranger = taskIn(clusterNamed('retired'), 'e3'.repeat(16));
    await seedTask(template, listed, { deployment: undefined, record: false });
    await seedTask(template, recorded, { deployment: undefined, record: true });
    await seedTask(template, stranger, { deployment: undefined, record: false });

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs.map((r) => [r.taskId, r.kind, r.applied]).sort()).toEqual(
      [
        [taskIdOf(listed), 'orphaned', true],
        [taskIdOf(recorded), 'orphaned', true],
        [taskIdOf(running), 'drifted', true],
      ].sort(),
    );
    expect([entryOf(listed), entryOf(recorded)]).toEqual([undefined, undefined]);
    expect(entryOf(stranger)).toBeDefined();
    expect(entryOf(running)?.metadata.labels).toMatchObject({ 'ecsmesh.io/deployment': deps.deployment });
  });
});

describe("co-writers: istiod's annotations and status are not drift", () => {
  // istiod's own identity, allowed what its ClusterRole grants: its writes are not ours to count.
  beforeAll(() => {
    p.k8s.addIdentity('istiod-token', ISTIOD_RBAC);
  });
  /** An istiod instance writing over HTTP as istiod, and the entry's sidecar connected to it at `connectedAt`. */
  const connectedSidecar = async (entry: WorkloadEntry, connectedAt: Date) => {
    const istiod = istiodOverHttp(p.k8s.url, 'istiod-token');
    const conn = await connectSidecar(istiod, entry, connectedAt);
    return { istiod, conn, proxy: conn.proxy };
  };
  /** The mesh requests a pass sends that are not reads. */
  const writesOf = async (pass: () => Promise<unknown>) => {
    const before = p.k8s.requests.length;
    await pass();
    return p.k8s.requests.slice(before).filter((r) => r.method !== 'GET' && r.userAgent?.startsWith('pilot-discovery/') !== true);
  };
  const stored = (taskArn: string) => p.k8s.objects('WorkloadEntry').find((e) => (e.metadata.annotations as Record<string, string> | undefined)?.['ecsmesh.io/task-arn'] === taskArn);

  it('a converged mesh with istiod connected and reporting health costs 0 mesh writes per pass, and istiod keeps its fields', async () => {
    const taskArn = await enrolledTask();
    const uid = entryOf(taskArn)!.metadata.uid;
    const { istiod, proxy } = await connectedSidecar(entryOf(taskArn)!, new Date('2026-12-05T05:00:00.123Z'));
    await istiod.reportHealth(proxy, { healthy: true }, new Date('2026-12-05T05:00:01Z'));

    for (const pass of [1, 2]) {
      let report: Awaited<ReturnType<typeof reconcileTasks>> | undefined;
      const writes = await writesOf(async () => (report = await reconcileTasks({}, deps, new Date())));
      expect(writes, `pass ${pass}`).toEqual([]);
      expect(report?.repairs, `pass ${pass}`).toEqual([]);
    }
    const entry = stored(taskArn);
    expect(entry?.metadata.uid).toBe(uid);
    expect(entry?.metadata.annotations).toMatchObject({ 'istio.io/workloadController': istiod.instanceId, 'istio.io/connectedAt': '2026-12-05T05:00:00.123Z' });
    expect(entry?.status).toEqual({ conditions: [expect.objectContaining({ type: 'Healthy', status: 'True' })] });
  });

  it('nor after istiod marks a disconnect and, past its grace period, drops the Healthy condition', async () => {
    const taskArn = await enrolledTask();
    const { istiod, conn, proxy } = await connectedSidecar(entryOf(taskArn)!, new Date('2026-12-05T05:00:00Z'));
    await istiod.reportHealth(proxy, { healthy: false, message: 'probe failed' }, new Date('2026-12-05T05:00:01Z'));
    await istiod.onDisconnect(conn, new Date('2026-12-05T05:00:02Z'));
    expect(await writesOf(() => reconcileTasks({}, deps, new Date()))).toEqual([]);

    // The grace period (PILOT_WORKLOAD_ENTRY_GRACE_PERIOD, 10s) after the disconnect.
    await istiod.runDueCleanups(new Date('2026-12-05T05:00:12Z'));
    expect(stored(taskArn)?.status).toEqual({ conditions: [] });

    expect(await writesOf(() => reconcileTasks({}, deps, new Date()))).toEqual([]);
    // RFC 3339 as istiod writes it (controller.go timeFormat, RFC3339Nano: no trailing zeros).
    expect(stored(taskArn)?.metadata.annotations).toMatchObject({ 'istio.io/disconnectedAt': '2026-12-05T05:00:02Z' });
  });

  it('still repairs a field of ours changed by another writer, in place, without taking istiod’s fields', async () => {
    const taskArn = await enrolledTask();
    const entry = entryOf(taskArn)!;
    const { istiod, proxy } = await connectedSidecar(entry, new Date('2026-12-05T05:00:00Z'));
    await istiod.reportHealth(proxy, { healthy: true }, new Date('2026-12-05T05:00:01Z'));
    const live = stored(taskArn)!;
    p.k8s.adminReplace({ ...live, metadata: { ...live.metadata, labels: { ...(live.metadata.labels as object), version: 'v9' } } });

    const report = await reconcileTasks({}, deps, new Date());

    expect(report.repairs).toEqual([expect.objectContaining({ kind: 'drifted', applied: true })]);
    const repaired = stored(taskArn);
    expect(repaired?.metadata.uid).toBe(entry.metadata.uid); // in place: istiod's state is not lost to a re-creation
    expect(repaired?.metadata.labels).toMatchObject({ version: 'v1' });
    expect(repaired?.metadata.annotations).toMatchObject({ 'istio.io/workloadController': istiod.instanceId });
    expect(repaired?.status).toEqual({ conditions: [expect.objectContaining({ type: 'Healthy' })] });
    const managers = (repaired?.metadata.managedFields as { manager: string; fieldsV1: { 'f:metadata'?: { 'f:annotations'?: object } } }[]).map((m) => [m.manager, Object.keys(m.fieldsV1['f:metadata']?.['f:annotations'] ?? {})]);
    expect(managers).toContainEqual(['pilot-discovery', expect.arrayContaining(['f:istio.io/workloadController', 'f:istio.io/connectedAt'])]);
    expect(await writesOf(() => reconcileTasks({}, deps, new Date()))).toEqual([]);
  });
});
