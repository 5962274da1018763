/**
 * Addresses that cannot clash, against moto and the Kubernetes API double: two tasks on one
 * address of one network (overlapping CIDRs) enrolling at once (exactly one wins, the other is
 * refused ADDRESS_IN_USE), the reconciler enrolling the refused one once the holder drains, and
 * the network taken from meshNetworks by the task's VPC (read with ec2:DescribeSubnets).
 */
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAddressClaims } from '../../shared/adapters/dynamodb-address-claims.js';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { buildReconcileDeps } from '../../shared/adapters/wiring.js';
import { reconcileTasks, type ReconcileDeps } from '../../shared/app/reconcile-tasks.js';
import { loadConfig } from '../../shared/config.js';
import { REASONS } from '../../shared/core/reasons.js';
import type { AddressClaims } from '../../shared/ports.js';
import { processTaskEventBatch } from '../../functions/task-events/process-batch.js';
import { aPolicy } from '../fixtures/builders.js';
import { aTaskStateChange, sqsEventOf } from '../fixtures/ecs-events.js';
import { asFunction } from '../support/aws-call-recorder.js';
import { localAwsConfig } from '../support/local-aws.js';
import { MemoryLog } from '../support/memory-log.js';
import { Pipeline } from '../support/pipeline.js';

const SHARED_ADDRESS = '10.77.0.9';
const NETWORK = 'net-east';
const GROUP = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadGroup',
  metadata: { name: 'ratings', namespace: 'bookinfo', labels: { app: 'ratings' } },
  // The template's own network: meshNetworks names the tasks' VPC, which wins.
  spec: { metadata: { labels: { app: 'ratings' } }, template: { serviceAccount: 'bookinfo-ratings', network: 'from-the-template', ports: { http: 9080 } } },
};

let p: Pipeline;
let clusterArn: string;
let taskDef: string;
let vpcId: string;

const taskIdOf = (taskArn: string) => taskArn.split('/').pop()!;
const entriesAt = (address: string) => p.entries().filter((e) => e.spec.address === address);

/** The reconcile function's deps, describing tasks as the pipeline does (the shared address included). */
function reconcileDeps(): ReconcileDeps {
  const config = loadConfig('reconcile', {
    AWS_ENDPOINT_URL: localAwsConfig().endpoint,
    POLICY_TABLE: p.stack.policyTable,
    ENROLLMENT_TABLE: p.stack.enrollmentTable,
    AUTH_TABLE: p.stack.authTable,
    POLICY_CACHE_SECONDS: '0',
    MESH_NETWORKS: `${vpcId}=${NETWORK}`,
  });
  const mesh = new KubernetesMeshApi({ baseUrl: p.k8s.url, token: async () => 'test-mesh-token', timeoutMs: 2000 });
  const built = buildReconcileDeps(config, new MemoryLog(), p.clients, mesh);
  return { ...built, tasks: p.deps.tasks, settings: { ...built.settings, graceSeconds: 0 }, sleep: async () => undefined };
}

/** The claims, each claimant held at `claim` until `count` have reached it: every one decided the address free first. */
function claimingTogether(claims: AddressClaims, count: number): AddressClaims {
  let arrived = 0;
  let release: () => void = () => {};
  const together = new Promise<void>((resolve) => (release = resolve));
  return {
    heldByAnother: (at, taskId, now) => claims.heldByAnother(at, taskId, now),
    release: (at, taskId) => claims.release(at, taskId),
    claim: async (at, task, now) => {
      if (++arrived === count) release();
      await together;
      return claims.claim(at, task, now);
    },
  };
}

/** Delivers one task's RUNNING event to task-events with `deps`, as its own batch (its own Lambda). */
const running = (taskArn: string, deps: typeof p.deps) =>
  asFunction(p.scope('taskEvents'), () => processTaskEventBatch(sqsEventOf([aTaskStateChange({ taskArn, clusterArn, version: 3, privateIpv4: SHARED_ADDRESS })]).Records, deps, new Date()));

beforeAll(async () => {
  const subnets = await new EC2Client(localAwsConfig()).send(new DescribeSubnetsCommand({}));
  // The subnet the pipeline runs its tasks in (its first), and so their VPC.
  vpcId = subnets.Subnets?.[0]?.VpcId ?? '';
  p = await Pipeline.start('-addresses', { MESH_NETWORKS: `${vpcId}=${NETWORK}` });
  clusterArn = await p.createCluster('prod');
  const role = await p.createRole('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  taskDef = await p.registerTaskDefinition('ratings', { roleArn: role });
  await p.putPolicy(aPolicy());
  p.k8s.seed(GROUP);
});

afterAll(() => p.stop());

beforeEach(async () => {
  for (const t of (await p.clients.ecs.send(new ListTasksCommand({ cluster: 'prod' }))).taskArns ?? []) await p.stopTask('prod', t);
  for (const entry of p.entries()) p.k8s.adminDelete('WorkloadEntry', entry.metadata.namespace, entry.metadata.name);
});

describe('addresses that cannot clash', () => {
  it('of two tasks enrolling with one address at once, exactly one wins; the other is refused ADDRESS_IN_USE, naming the winner', async () => {
    const [first, second] = await p.runTask('prod', taskDef, { count: 2 });
    for (const taskArn of [first!, second!]) p.addresses.set(taskArn, SHARED_ADDRESS);
    const together = { ...p.deps, addresses: claimingTogether(p.deps.addresses!, 2) };

    await Promise.all([running(first!, together), running(second!, together)]);

    const records = [await p.record(first!), await p.record(second!)];
    const winner = records.find((r) => r?.phase === 'enrolled');
    const loser = records.find((r) => r?.phase === 'rejected');
    expect(records.map((r) => r?.phase).sort()).toEqual(['enrolled', 'rejected']);
    expect(loser).toMatchObject({ reason: REASONS.ADDRESS_IN_USE, detail: expect.stringContaining(`address ${SHARED_ADDRESS} on network ${NETWORK} is held by task ${winner?.taskId}`) });
    expect(entriesAt(SHARED_ADDRESS).map((e) => e.metadata.labels?.['ecsmesh.io/task-id'])).toEqual([winner?.taskId]);
  });

  it("takes the entry's network from meshNetworks by the task's VPC, over the group template's", async () => {
    const [taskArn] = await p.runTask('prod', taskDef);
    p.addresses.set(taskArn!, '10.77.0.20');

    await running(taskArn!, p.deps);

    expect(entriesAt('10.77.0.20').map((e) => e.spec.network)).toEqual([NETWORK]);
    expect(await p.record(taskArn!)).toMatchObject({ phase: 'enrolled', address: '10.77.0.20', network: NETWORK });
  });

  it('the reconciler leaves the refused task out while the holder runs, and enrolls it once the holder drains', async () => {
    const [holder, refused] = await p.runTask('prod', taskDef, { count: 2 });
    for (const taskArn of [holder!, refused!]) p.addresses.set(taskArn, SHARED_ADDRESS);
    await running(holder!, p.deps);
    await running(refused!, p.deps);
    expect(await p.record(refused!)).toMatchObject({ phase: 'rejected', reason: REASONS.ADDRESS_IN_USE });
    const deps = reconcileDeps();

    const whileHeld = await asFunction(p.scope('reconcile'), () => reconcileTasks({}, deps, new Date()));
    await p.stopTask('prod', holder!);
    await p.deliver([aTaskStateChange({ taskArn: holder!, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', privateIpv4: SHARED_ADDRESS })]);
    const afterDrain = await asFunction(p.scope('reconcile'), () => reconcileTasks({}, deps, new Date()));

    expect(whileHeld.repairs.filter((r) => [holder, refused].includes(r.taskArn))).toEqual([]);
    expect(afterDrain.repairs.filter((r) => [holder, refused].includes(r.taskArn))).toEqual([expect.objectContaining({ taskId: taskIdOf(refused!), kind: 'missing', applied: true })]);
    expect(await p.record(refused!)).toMatchObject({ phase: 'enrolled', reason: REASONS.POLICY_ALLOWED, address: SHARED_ADDRESS, network: NETWORK });
    expect(entriesAt(SHARED_ADDRESS).map((e) => e.metadata.labels?.['ecsmesh.io/task-id'])).toEqual([taskIdOf(refused!)]);
  });

  it('gives one address of one network to exactly one of many claimants at once, and another network is another address', async () => {
    const claims = new DynamoDbAddressClaims(p.clients.dynamo, p.stack.enrollmentTable);
    const at = { network: 'net-race', address: '10.99.0.1' };
    const now = new Date();

    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => claims.claim(at, { taskId: `claimant-${i}`, taskArn: `arn:claimant-${i}` }, now)));
    const elsewhere = await claims.claim({ network: 'net-west', address: at.address }, { taskId: 'claimant-west', taskArn: 'arn:claimant-west' }, now);

    const winners = answers.flatMap((holder, i) => (holder === undefined ? [`claimant-${i}`] : []));
    expect(winners).toHaveLength(1);
    expect(answers.filter((h) => h !== undefined).every((h) => h!.taskId === winners[0])).toBe(true);
    expect(elsewhere).toBeUndefined();
  });
});
