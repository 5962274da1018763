import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetSecretValueCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { explainDecision } from '../../shared/app/explain-decision.js';
import { validateWorkloadEntry } from '../../shared/core/crd-validation.js';
import { aPolicy } from '../fixtures/builders.js';
import { aTaskStateChange } from '../fixtures/ecs-events.js';
import { ACCOUNT, Pipeline } from '../support/pipeline.js';

let p: Pipeline;
let clusterArn: string;
let allowedRole: string;
let untaggedRole: string;
let taskDef: string;

const GROUP_TAG = { 'ecsmesh.io/workload-group': 'bookinfo/ratings' };

beforeAll(async () => {
  p = await Pipeline.start('-task-events');
  clusterArn = await p.createCluster('prod');
  allowedRole = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  untaggedRole = await p.createRole('intruder-task', { 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: allowedRole });
  await p.putPolicy(aPolicy());
  p.k8s.seed({
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    // The group names the keys its tasks may set; a reserved one it names is still never taken from a task.
    metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' }, annotations: { 'ecsmesh.io/task-label-keys': 'track, security.istio.io/tlsMode' } },
    spec: { metadata: { labels: { app: 'ratings', version: 'v1' } }, template: { serviceAccount: 'bookinfo-ratings', network: 'vpc-1', ports: { http: 9080 } } },
  });
});

afterAll(() => p.stop());

const entryFor = (taskArn: string) => p.entries().find((e) => e.metadata.annotations?.['ecsmesh.io/task-arn'] === taskArn);

describe('task-events against moto and the Kubernetes API double', () => {
  it('enrolls a RunTask-ed awsvpc task with an allowed role as a schema-valid WorkloadEntry', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);

    const { failed } = await p.pump();

    expect(failed).toEqual([]);
    const entry = entryFor(taskArn!);
    const taskId = taskArn!.split('/').pop()!;
    expect(entry).toBeDefined();
    expect(validateWorkloadEntry(entry)).toEqual({ ok: true });
    expect(entry!.metadata).toMatchObject({
      name: `ratings-${taskId}`,
      namespace: 'bookinfo',
      labels: { 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding', 'ecsmesh.io/deployment': 'ecs-mesh-onboarding', 'ecsmesh.io/task-id': taskId },
      annotations: { 'ecsmesh.io/cluster-arn': clusterArn, 'ecsmesh.io/task-definition-arn': taskDef, 'ecsmesh.io/event-version': '3' },
      ownerReferences: [{ kind: 'WorkloadGroup', name: 'ratings', controller: true }],
    });
    expect(entry!.spec).toMatchObject({ labels: { app: 'ratings', version: 'v1' }, serviceAccount: 'bookinfo-ratings', network: 'vpc-1', ports: { http: 9080 } });
    expect(entry!.spec.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', reason: 'POLICY_ALLOWED', policy: 'allow-ratings', rule: 0, version: 3, address: entry!.spec.address });
  });

  it('removes the entry on desired STOPPED, before STOPPED arrives', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    await p.pump();
    expect(entryFor(taskArn!)).toBeDefined();

    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' })]);

    expect(entryFor(taskArn!)).toBeUndefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'draining', reason: 'TASK_STOPPING', version: 4, expiresAt: expect.any(Number) });

    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })]);

    expect(await p.record(taskArn!)).toMatchObject({ phase: 'deregistered', reason: 'TASK_STOPPED', version: 5 });
  });

  it('never records an event version ahead of ECS’s, so the real stop still removes the entry', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    await p.pump();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', version: 3 });

    const forged = await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: Number.MAX_SAFE_INTEGER, lastStatus: 'RUNNING' })], { forged: true });

    expect(forged.result.outcomes).toEqual([expect.objectContaining({ versionAheadOfEcs: Number.MAX_SAFE_INTEGER, version: 3, step: 'skip' })]);
    expect((await p.record(taskArn!))?.version).toBe(3);
    expect(p.log.lines.find((l) => l.message.startsWith('event version is ahead of ECS'))?.extra).toMatchObject({ eventVersion: Number.MAX_SAFE_INTEGER, ecsVersion: 3 });

    await p.stopTask('prod', taskArn!);
    expect((await p.pump()).failed).toEqual([]);

    expect(entryFor(taskArn!)).toBeUndefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'deregistered', version: 5 });
  });

  it('deregisters a task stopped through ECS via the event source', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    await p.pump();

    await p.stopTask('prod', taskArn!);
    const { failed } = await p.pump();

    expect(failed).toEqual([]);
    expect(entryFor(taskArn!)).toBeUndefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'deregistered', version: 5 });
  });

  it('ends in the same state when every event comes three times in shuffled order', async () => {
    const lifecycle = (taskArn: string) => [
      aTaskStateChange({ taskArn, clusterArn, version: 1, lastStatus: 'PROVISIONING' }),
      aTaskStateChange({ taskArn, clusterArn, version: 2, lastStatus: 'PENDING' }),
      aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' }),
      aTaskStateChange({ taskArn, clusterArn, version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' }),
      aTaskStateChange({ taskArn, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' }),
    ];
    const [inOrder, ...shuffledTasks] = await p.runTask('prod', taskDef, { count: 4 });
    for (const event of lifecycle(inOrder!)) await p.deliver([event]);
    const expected = await p.record(inOrder!);

    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (const taskArn of shuffledTasks) {
      const events = [...lifecycle(taskArn), ...lifecycle(taskArn), ...lifecycle(taskArn)].sort(() => random() - 0.5);
      // Mixed delivery: some alone, some together in one batch.
      for (let i = 0; i < events.length; ) {
        const size = 1 + Math.floor(random() * 3);
        const { batchItemFailures } = await p.deliver(events.slice(i, i + size));
        expect(batchItemFailures).toEqual([]);
        i += size;
      }

      expect(entryFor(taskArn)).toBeUndefined();
      expect(await p.record(taskArn)).toMatchObject({ phase: expected!.phase, version: expected!.version, reason: expected!.reason });
    }
  });

  it('does not resurrect a stopped task on a late RUNNING', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })]);

    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' })]);
    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 6, lastStatus: 'RUNNING' })]);

    expect(entryFor(taskArn!)).toBeUndefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'deregistered', version: 5 });
  });

  it('does not enroll a task that ECS already reports stopped when its RUNNING event arrives', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    await p.stopTask('prod', taskArn!);

    const result = await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' })]);

    expect(result.batchItemFailures).toEqual([]);
    expect(entryFor(taskArn!)).toBeUndefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'deregistered', reason: 'TASK_STOPPED' });
  });

  it("keeps a new task that reuses a stopped task's IP when the old task's late STOPPED arrives", async () => {
    const [oldTask, newTask] = await p.runTask('prod', taskDef, { count: 2 });
    await p.deliver([aTaskStateChange({ taskArn: oldTask, clusterArn, version: 3, lastStatus: 'RUNNING' })]);
    const oldIp = entryFor(oldTask!)!.spec.address!;
    await p.deliver([aTaskStateChange({ taskArn: oldTask, clusterArn, version: 4, lastStatus: 'RUNNING', desiredStatus: 'STOPPED', privateIpv4: oldIp })]);
    await p.deliver([aTaskStateChange({ taskArn: newTask, clusterArn, version: 3, lastStatus: 'RUNNING', privateIpv4: oldIp })]);
    const before = entryFor(newTask!)!;

    await p.deliver([aTaskStateChange({ taskArn: oldTask, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', privateIpv4: oldIp })]);

    const after = entryFor(newTask!);
    expect(after).toBeDefined();
    expect(after!.metadata.uid).toBe(before.metadata.uid);
    expect(after!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('takes from task tags only the labels the group opts in, and records and explains each label it drops', async () => {
    const label = (key: string) => `ecsmesh.io/label/${key}`;
    const [taskArn] = await p.runTask('prod', taskDef, {
      tags: {
        [label('track')]: 'canary',
        [label('security.istio.io/tlsMode')]: 'disabled',
        [label('topology.istio.io/network')]: 'other-net',
        [label('istio.io/rev')]: 'canary',
        [label('app')]: 'reviews',
        [label('tier')]: 'front',
        [label('track-')]: 'x',
      },
    });

    expect((await p.pump()).failed).toEqual([]);

    const entry = entryFor(taskArn!);
    expect(entry!.spec.labels).toEqual({ app: 'ratings', version: 'v1', track: 'canary' });
    expect(Object.keys(entry!.metadata.labels ?? {}).sort()).toEqual(['app', 'app.kubernetes.io/managed-by', 'ecsmesh.io/deployment', 'ecsmesh.io/task-id', 'track', 'version']);
    const dropped = [
      { key: 'app', reason: 'TASK_LABEL_SET_BY_GROUP' },
      { key: 'istio.io/rev', reason: 'TASK_LABEL_RESERVED_PREFIX' },
      { key: 'security.istio.io/tlsMode', reason: 'TASK_LABEL_RESERVED_PREFIX' },
      { key: 'tier', reason: 'TASK_LABEL_NOT_OPTED_IN' },
      { key: 'topology.istio.io/network', reason: 'TASK_LABEL_RESERVED_PREFIX' },
      { key: 'track-', reason: 'TASK_LABEL_INVALID' },
    ];
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', reason: 'POLICY_ALLOWED', droppedLabels: dropped });
    expect(await explainDecision({ subject: { taskArn: taskArn!, clusterName: 'prod' } }, p.deps)).toMatchObject({ allowed: true, droppedLabels: dropped });
  });

  it('rejects a task whose role lacks the required tag, with that reason and no entry', async () => {
    const intruderDef = await p.registerTaskDefinition('intruder', { roleArn: untaggedRole });
    const [taskArn] = await p.runTask('prod', intruderDef);

    await p.pump();

    expect(entryFor(taskArn!)).toBeUndefined();
    const record = await p.record(taskArn!);
    expect(record).toMatchObject({ phase: 'rejected', reason: 'POLICY_DENIED', namespace: 'bookinfo', workloadGroup: 'ratings' });
    expect(record!.detail).toContain('role tag team missing');
  });

  it('uses the RunTask role override over the task definition role', async () => {
    const [taskArn] = await p.runTask('prod', taskDef, { overrideRoleArn: untaggedRole });

    await p.pump();

    expect(await p.record(taskArn!)).toMatchObject({ phase: 'rejected', reason: 'POLICY_DENIED', roleArn: untaggedRole });
  });

  it('rejects a bridge-mode task with its reason', async () => {
    const bridgeDef = await p.registerTaskDefinition('legacy', { roleArn: allowedRole, networkMode: 'bridge' });
    const [taskArn] = await p.runTask('prod', bridgeDef, { networkMode: 'bridge' });

    await p.pump();

    expect(entryFor(taskArn!)).toBeUndefined();
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'rejected', reason: 'NETWORK_MODE_UNSUPPORTED' });
  });

  it('ignores a task with no workload-group tag on the task or its role', async () => {
    const plainRole = await p.createRole('plain-task', { team: 'ratings' });
    const plainDef = await p.registerTaskDefinition('plain', { roleArn: plainRole });
    const [taskArn] = await p.runTask('prod', plainDef);

    await p.pump();

    expect(await p.record(taskArn!)).toMatchObject({ phase: 'ignored', reason: 'NO_WORKLOAD_GROUP_TAG' });
  });

  it('records a task that ECS no longer knows with that reason', async () => {
    const ghost = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/ffffffffffffffffffffffffffffffff`;

    await p.deliver([aTaskStateChange({ taskArn: ghost, clusterArn, version: 3, lastStatus: 'RUNNING' })]);

    expect(await p.record(ghost)).toMatchObject({ phase: 'rejected', reason: 'TASK_NOT_FOUND' });
  });

  it('sets a malformed record aside with its reason and processes the rest of the batch', async () => {
    const [taskArn] = await p.runTask('prod', taskDef, { tags: GROUP_TAG });

    const result = await p.deliver(['{"not": "an ECS event"', aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' })]);

    expect(result.batchItemFailures).toEqual([]);
    expect(entryFor(taskArn!)).toBeDefined();
    const dlq = await p.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: p.stack.deadLetterQueueUrl, MessageAttributeNames: ['All'], MaxNumberOfMessages: 10 }));
    expect(dlq.Messages).toHaveLength(1);
    expect(dlq.Messages![0]!.Body).toBe('{"not": "an ECS event"');
    expect(dlq.Messages![0]!.MessageAttributes?.reason?.StringValue).toBe('MALFORMED_EVENT');
  });

  it('fails the record while the mesh API answers 503, leaves the enrollment record alone, and succeeds on retry', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 2, lastStatus: 'PENDING' })]);
    const event = aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' });
    p.k8s.setOutage(503);

    const during = await p.deliver([event]);

    expect(during.batchItemFailures).toHaveLength(1);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'pending', version: 2 });
    expect(entryFor(taskArn!)).toBeUndefined();

    p.k8s.setOutage(undefined);
    const retry = await p.deliver([event]);

    expect(retry.batchItemFailures).toEqual([]);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', version: 3 });
  });

  it('makes one DescribeTasks per batch of 10 and one DescribeTaskDefinition and GetRole per definition and role', async () => {
    const role = await p.createRole('batch-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
    const def = await p.registerTaskDefinition('batch', { roleArn: role });
    const batchOf10 = async () => (await p.runTask('prod', def, { count: 10 })).map((taskArn) => aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' }));
    const measure = async (events: object[]) => {
      const before = new Map(p.calls);
      const result = await p.deliver(events);
      expect(result.batchItemFailures).toEqual([]);
      const after = new Map(p.calls);
      return (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    };

    const cold = await measure(await batchOf10());
    const warm = await measure(await batchOf10());

    expect([cold('ecs:DescribeTasks'), cold('ecs:DescribeTaskDefinition'), cold('iam:GetRole')]).toEqual([1, 1, 1]);
    expect([warm('ecs:DescribeTasks'), warm('ecs:DescribeTaskDefinition'), warm('iam:GetRole')]).toEqual([1, 0, 0]);
    expect(p.entries().filter((e) => e.metadata.annotations?.['ecsmesh.io/task-definition-arn'] === def)).toHaveLength(20);
  });
});

describe('a stop event that ECS contradicts', () => {
  /** A task enrolled at version 3 whose version-4 event (still RUNNING) was lost: the record lags ECS. */
  const enrolledTaskBehindEcs = async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    expect((await p.pump()).failed).toEqual([]);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', version: 3 });
    p.lose([aTaskStateChange({ taskArn, clusterArn, version: 4, lastStatus: 'RUNNING' })]);
    return { taskArn: taskArn!, entry: entryFor(taskArn!)! };
  };

  it.each([
    { case: 'STOPPED', lastStatus: 'STOPPED', desiredStatus: 'STOPPED' },
    { case: 'STOPPING', lastStatus: 'STOPPING', desiredStatus: 'STOPPED' },
    { case: 'desired STOPPED', lastStatus: 'RUNNING', desiredStatus: 'STOPPED' },
  ])('keeps the entry and a live record that says why, for a forged $case at a version ECS has reached', async ({ lastStatus, desiredStatus }) => {
    const { taskArn, entry } = await enrolledTaskBehindEcs();
    const describes = p.callCount('ecs:DescribeTasks');

    const forged = await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 4, lastStatus, desiredStatus })], { forged: true });

    expect(forged.batchItemFailures).toEqual([]);
    expect(p.callCount('ecs:DescribeTasks') - describes).toBe(1);
    expect(entryFor(taskArn)?.metadata.uid).toBe(entry.metadata.uid);
    const record = await p.record(taskArn);
    expect(record).toMatchObject({ phase: 'enrolled', reason: 'STOP_CONTRADICTED', version: 4, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', entryName: entry.metadata.name, policy: 'allow-ratings', rule: 0 });
    expect(record!.expiresAt).toBeUndefined();
    expect(record!.detail).toContain(`the stop event (${lastStatus}, desired ${desiredStatus}) claims version 4; ECS describes the task RUNNING, desired RUNNING at version 4`);
    expect(record!.detail).toContain('record kept as decided before: POLICY_ALLOWED: allowed by allow-ratings rule 0');

    // The real stop, later, still removes the entry.
    await p.stopTask('prod', taskArn);
    expect((await p.pump()).failed).toEqual([]);
    expect(entryFor(taskArn)).toBeUndefined();
    expect(await p.record(taskArn)).toMatchObject({ phase: 'deregistered', reason: 'TASK_STOPPED' });
  });

  it('returns a stop claiming more than ECS’s version to the queue while ECS describes the task running', async () => {
    const { taskArn, entry } = await enrolledTaskBehindEcs();

    const forged = await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 100, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })], { forged: true });

    expect(forged.batchItemFailures).toHaveLength(1);
    expect(forged.result.outcomes).toEqual([expect.objectContaining({ step: 'deregister', versionAheadOfEcs: 100, error: expect.stringContaining('until ECS confirms it') })]);
    expect(entryFor(taskArn)?.metadata.uid).toBe(entry.metadata.uid);
    expect(await p.record(taskArn)).toMatchObject({ phase: 'enrolled', reason: 'POLICY_ALLOWED', version: 3 });
  });

  it('deregisters a task that ECS no longer knows', async () => {
    const ghost = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/dddddddddddddddddddddddddddddddd`;

    const result = await p.deliver([aTaskStateChange({ taskArn: ghost, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' })], { forged: true });

    expect(result.batchItemFailures).toEqual([]);
    expect(await p.record(ghost)).toMatchObject({ phase: 'deregistered', reason: 'TASK_STOPPED', version: 5 });
  });
});

describe('the record writes of a starting task', () => {
  /** The record writes one batch makes. */
  const writesOf = async (events: object[]) => {
    const before = p.callCount('dynamo:UpdateItem');
    expect((await p.deliver(events)).batchItemFailures).toEqual([]);
    return p.callCount('dynamo:UpdateItem') - before;
  };

  it('records a task once when first seen starting and once when it runs: a PENDING that decides the same writes nothing', async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    const at = (version: number, lastStatus: string) => aTaskStateChange({ taskArn, clusterArn, version, lastStatus });

    expect(await writesOf([at(1, 'PROVISIONING')])).toBe(1);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'pending', version: 1, lastStatus: 'PROVISIONING', policy: 'allow-ratings', rule: 0, workloadGroup: 'ratings' });
    expect(await writesOf([at(2, 'PENDING')])).toBe(0);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'pending', version: 1 });
    // The version fence still holds: a replay of either starting event changes nothing.
    expect(await writesOf([at(1, 'PROVISIONING'), at(2, 'PENDING')])).toBe(0);
    // The record, and the claim of the task's address (docs/architecture.md#networks).
    expect(await writesOf([at(3, 'RUNNING')])).toBe(2);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', version: 3 });
    expect(await writesOf([at(2, 'PENDING')])).toBe(0);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', version: 3 });
  });

  it('writes a PENDING whose decision differs from the one recorded at PROVISIONING', async () => {
    const role = await p.createRole('cart-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'shop/cart' });
    const def = await p.registerTaskDefinition('cart', { roleArn: role });
    p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'cart', namespace: 'shop', labels: { app: 'ratings' } }, spec: { template: { serviceAccount: 'cart' } } });
    await p.putPolicy(aPolicy({ namespace: 'shop', name: 'allow-cart' }));
    const [taskArn] = await p.runTask('prod', def);
    expect(await writesOf([aTaskStateChange({ taskArn, clusterArn, version: 1, lastStatus: 'PROVISIONING' })])).toBe(1);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'pending', policy: 'allow-cart' });
    // The policy changes while the task starts: another account only.
    await p.putPolicy(aPolicy({ namespace: 'shop', name: 'allow-cart', allow: [{ workloads: [{ aws: { accounts: ['999999999999'] } }], onboardTo: [{ workloadGroupSelector: {} }] }] }));

    expect(await writesOf([aTaskStateChange({ taskArn, clusterArn, version: 2, lastStatus: 'PENDING' })])).toBe(1);

    expect(await p.record(taskArn!)).toMatchObject({ phase: 'rejected', reason: 'POLICY_DENIED', version: 2 });
  });
});

describe('task-events when the cluster is gone', () => {
  it('records the task as not found instead of retrying forever', async () => {
    const taskArn = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/deleted/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee`;

    const result = await p.deliver([aTaskStateChange({ taskArn, clusterArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/deleted`, version: 3, lastStatus: 'RUNNING' })]);

    expect(result.batchItemFailures).toEqual([]);
    expect(await p.record(taskArn)).toMatchObject({ phase: 'rejected', reason: 'TASK_NOT_FOUND' });
  });
});

describe('the service data-plane token', () => {
  it('is minted once for a burst of 50 PENDING and RUNNING events of one service in concurrent batches', async () => {
    const role = await p.createRole('burst-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/burst' });
    const def = await p.registerTaskDefinition('burst', { roleArn: role });
    p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'burst', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: { serviceAccount: 'burst' } } });
    const tasks = await p.runTask('prod', def, { count: 25 });
    const events = tasks.flatMap((taskArn) => [
      aTaskStateChange({ taskArn, clusterArn, version: 2, lastStatus: 'PENDING' }),
      aTaskStateChange({ taskArn, clusterArn, version: 3, lastStatus: 'RUNNING' }),
    ]);

    // Five batches of ten at once, as five concurrent Lambda invocations would see them.
    const results = await Promise.all([0, 1, 2, 3, 4].map((b) => p.deliver(events.filter((_, i) => i % 5 === b))));

    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);
    const versions = await p.clients.secrets.send(new ListSecretVersionIdsCommand({ SecretId: 'ecs-mesh/bookinfo/burst' }));
    expect(versions.Versions).toHaveLength(1);
    const secret = JSON.parse((await p.clients.secrets.send(new GetSecretValueCommand({ SecretId: 'ecs-mesh/bookinfo/burst' }))).SecretString!) as Record<string, string>;
    expect(Object.keys(secret).sort()).toEqual(['expiresAt', 'issuedAt', 'kid', 'profile', 'token', 'workloadGroup']);
    expect(secret.profile).toBe('istio');
    expect(await p.record(tasks[0]!)).toMatchObject({ phase: 'enrolled', detail: expect.stringContaining('data-plane token') });
  });

  it('is not minted for a service whose starting tasks are refused', async () => {
    const role = await p.createRole('refused-task', { 'ecsmesh.io/workload-group': 'bookinfo/refused' });
    const def = await p.registerTaskDefinition('refused', { roleArn: role });
    p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'refused', namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: {} } });
    const [taskArn] = await p.runTask('prod', def);

    await p.deliver([aTaskStateChange({ taskArn, clusterArn, version: 2, lastStatus: 'PENDING' })]);

    expect(await p.record(taskArn!)).toMatchObject({ phase: 'rejected', reason: 'POLICY_DENIED', version: 2 });
    await expect(p.clients.secrets.send(new GetSecretValueCommand({ SecretId: 'ecs-mesh/bookinfo/refused' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
