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
import { CLAIM_SETTLE_SECONDS } from '../../shared/core/networks.js';
import { REASONS } from '../../shared/core/reasons.js';
import type { AddressClaims } from '../../shared/ports.js';
import { processTaskEventBatch } from '../../functions/task-events/process-batch.js';
import { aPolicy } from '../fixtures/builders.js';
import { aTaskStateChange, sqsEventOf } from '../fixtures/ecs-events.js';
import { asFunction } from '../support/aws-call-recorder.js';
import { interleavingClient } from '../support/interleaving-client.js';
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
/** Each claim test takes addresses of its own: moto's table outlives a run. */
let addressesUsed = Math.floor(Math.random() * 200);

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

/**
 * The claims, each claimant held at `claim` until `count` have reached it (every one decided the
 * address free), then let through one after the other: moto does not make two concurrent
 * conditional writes atomic as DynamoDB does, so the writes themselves take turns.
 */
function claimingTogether(claims: AddressClaims, count: number): AddressClaims {
  let arrived = 0;
  let release: () => void = () => {};
  const together = new Promise<void>((resolve) => (release = resolve));
  let turn: Promise<unknown> = together;
  return {
    heldByAnother: (at, taskId, now) => claims.heldByAnother(at, taskId, now),
    release: (at, taskId) => claims.release(at, taskId),
    claim: (at, task, now) => {
      if (++arrived === count) release();
      const mine = turn.then(() => claims.claim(at, task, now));
      turn = mine.catch(() => undefined);
      return mine;
    },
  };
}

/** Claims whose client runs `other` to completion just before its `at`-th DynamoDB call (or after its last): one interleaving of two claimants. */
function claimsInterleaving(at: number, other: () => Promise<unknown>): { claims: DynamoDbAddressClaims; ran: () => boolean } {
  const { client, ran } = interleavingClient(p.clients.dynamo, at, other);
  return { claims: new DynamoDbAddressClaims(client, p.stack.enrollmentTable), ran };
}

/** Claimant `first` and claimant `second` on one address, `second` run whole before each of `first`'s calls in turn, and after its last: in every order exactly one holds it. */
async function everyInterleaving(seed: (at: { network: string; address: string }) => Promise<unknown>, first: string, second: string): Promise<string[][]> {
  const winners: string[][] = [];
  const now = new Date();
  for (let step = 0; ; step++) {
    const at = { network: 'net-race', address: `10.99.${step}.${++addressesUsed}` };
    await seed(at);
    const direct = new DynamoDbAddressClaims(p.clients.dynamo, p.stack.enrollmentTable);
    let secondAnswer: unknown = 'not run';
    const { claims, ran } = claimsInterleaving(step, async () => (secondAnswer = await direct.claim(at, { taskId: second, taskArn: `arn:${second}` }, now)));
    const firstAnswer = await claims.claim(at, { taskId: first, taskArn: `arn:${first}` }, now);
    if (!ran()) secondAnswer = await direct.claim(at, { taskId: second, taskArn: `arn:${second}` }, now);
    winners.push([...(firstAnswer === undefined ? [first] : []), ...(secondAnswer === undefined ? [second] : [])]);
    if (!ran()) return winners;
  }
}

/**
 * Delivers one task's RUNNING event to task-events with `deps`, as its own batch (its own Lambda).
 * No zone, as moto describes none: the reconciler's entry is then the one task-events wrote.
 */
const running = (taskArn: string, deps: typeof p.deps, privateIpv4 = SHARED_ADDRESS) =>
  asFunction(p.scope('taskEvents'), () => processTaskEventBatch(sqsEventOf([aTaskStateChange({ taskArn, clusterArn, version: 3, privateIpv4, availabilityZone: null })]).Records, deps, new Date()));

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
    const address = '10.77.0.10';
    const [holder, refused] = await p.runTask('prod', taskDef, { count: 2 });
    for (const taskArn of [holder!, refused!]) p.addresses.set(taskArn, address);
    await running(holder!, p.deps, address);
    await running(refused!, p.deps, address);
    expect(await p.record(refused!)).toMatchObject({ phase: 'rejected', reason: REASONS.ADDRESS_IN_USE });
    const deps = reconcileDeps();

    const whileHeld = await asFunction(p.scope('reconcile'), () => reconcileTasks({}, deps, new Date()));
    await p.stopTask('prod', holder!);
    await p.deliver([aTaskStateChange({ taskArn: holder!, clusterArn, version: 5, lastStatus: 'STOPPED', desiredStatus: 'STOPPED', privateIpv4: address, availabilityZone: null })]);
    const afterDrain = await asFunction(p.scope('reconcile'), () => reconcileTasks({}, deps, new Date()));

    expect(whileHeld.repairs.filter((r) => [holder, refused].includes(r.taskArn))).toEqual([]);
    expect(afterDrain.repairs.filter((r) => [holder, refused].includes(r.taskArn))).toEqual([expect.objectContaining({ taskId: taskIdOf(refused!), kind: 'missing', applied: true })]);
    expect(await p.record(refused!)).toMatchObject({ phase: 'enrolled', reason: REASONS.POLICY_ALLOWED, address, network: NETWORK });
    expect(entriesAt(address).map((e) => e.metadata.labels?.['ecsmesh.io/task-id'])).toEqual([taskIdOf(refused!)]);
  });

  it('removes an entry written before claims whose address another task holds, recording ADDRESS_IN_USE, not a policy change', async () => {
    const address = '10.77.0.30';
    const [holder, unclaimed] = await p.runTask('prod', taskDef, { count: 2 });
    for (const taskArn of [holder!, unclaimed!]) p.addresses.set(taskArn, address);
    await running(holder!, p.deps, address);
    // As a deployment before claims existed enrolled it: no claim read, none taken.
    await running(unclaimed!, { ...p.deps, addresses: undefined }, address);
    expect(entriesAt(address)).toHaveLength(2);

    const pass = await asFunction(p.scope('reconcile'), () => reconcileTasks({}, reconcileDeps(), new Date()));

    expect(pass.repairs.filter((r) => [holder, unclaimed].includes(r.taskArn))).toEqual([expect.objectContaining({ taskId: taskIdOf(unclaimed!), kind: 'revoked', applied: true })]);
    expect(await p.record(unclaimed!)).toMatchObject({ phase: 'rejected', reason: REASONS.ADDRESS_IN_USE, detail: expect.stringContaining(`held by task ${taskIdOf(holder!)}`) });
    expect(entriesAt(address).map((e) => e.metadata.labels?.['ecsmesh.io/task-id'])).toEqual([taskIdOf(holder!)]);
  });

  it('gives a free address to exactly one of two claimants, whatever the order of their reads and writes', async () => {
    const winners = await everyInterleaving(async () => undefined, 'first', 'second');

    expect(winners.length).toBeGreaterThanOrEqual(2);
    expect(winners.filter((w) => w.length !== 1)).toEqual([]);
  });

  it('gives a stale claim to exactly one, when its old holder claims it again as another takes it over, whatever the order', async () => {
    const claims = new DynamoDbAddressClaims(p.clients.dynamo, p.stack.enrollmentTable);
    // Claimed long ago by a task that never wrote a record: stale to others, still its own to claim again.
    const stale = (at: { network: string; address: string }) => claims.claim(at, { taskId: 'old-holder', taskArn: 'arn:old-holder' }, new Date(Date.now() - (CLAIM_SETTLE_SECONDS + 60) * 1000));

    const renewFirst = await everyInterleaving(stale, 'old-holder', 'newcomer');
    const takeoverFirst = await everyInterleaving(stale, 'newcomer', 'old-holder');
    const twoNewcomers = await everyInterleaving(stale, 'newcomer', 'other-newcomer');

    expect([...renewFirst, ...takeoverFirst, ...twoNewcomers].filter((w) => w.length !== 1)).toEqual([]);
  });

  it('keeps networks apart: one address on two networks is two claims', async () => {
    const claims = new DynamoDbAddressClaims(p.clients.dynamo, p.stack.enrollmentTable);
    const address = `10.98.0.${++addressesUsed}`;
    const now = new Date();

    const answers = [await claims.claim({ network: 'net-east', address }, { taskId: 'east', taskArn: 'arn:east' }, now), await claims.claim({ network: 'net-west', address }, { taskId: 'west', taskArn: 'arn:west' }, now)];

    expect(answers).toEqual([undefined, undefined]);
  });
});
