/**
 * What a fleet-sized burst costs (issue 13): tasks of several services starting at once, their
 * events handed to the handler in batches of the SQS batch size serverless.yml deploys. The calls
 * are counted by operation, so any regression (a per-task read, a record rewritten at each
 * step, a DescribeTasks per batch of 10) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aPolicy } from '../fixtures/builders.js';
import { aTaskStateChange } from '../fixtures/ecs-events.js';
import { ACCOUNT, Pipeline } from '../support/pipeline.js';

const SERVICES = 4;
/** Caches that outlast the test, so the counts do not depend on how fast the machine is. */
const SETTINGS = { POLICY_CACHE_SECONDS: '600', ROLE_CACHE_SECONDS: '600', WORKLOAD_GROUP_CACHE_SECONDS: '600' };
/** The SQS batch size serverless.yml deploys (serverless-package.test.ts checks the template says so). */
const BATCH_SIZE = 100;
const STATUSES = ['PROVISIONING', 'PENDING', 'RUNNING'] as const;

let p: Pipeline;
let clusterArn: string;
const definitions: string[] = [];

beforeAll(async () => {
  p = await Pipeline.start('-burst', SETTINGS);
  clusterArn = await p.createCluster('burst');
  for (let s = 0; s < SERVICES; s++) {
    const name = `svc-${s}`;
    const role = await p.createRole(`${name}-task`, { team: 'ratings', 'ecsmesh.io/workload-group': `bookinfo/${name}` });
    definitions.push(await p.registerTaskDefinition(name, { roleArn: role }));
    p.k8s.seed({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name, namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { template: { serviceAccount: name } } });
  }
  await p.putPolicy(aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { clusters: ['burst'], iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] }));
});

afterAll(() => p.stop());

/** `perService` tasks of every service, interleaved as a fleet rolling out all of them at once. */
async function startTasks(perService: number): Promise<string[]> {
  const byService = await Promise.all(definitions.map(async (def) => (await Promise.all(Array.from({ length: perService / 10 }, () => p.runTask('burst', def, { count: 10 })))).flat()));
  return Array.from({ length: perService }, (_, i) => byService.map((tasks) => tasks[i]!)).flat();
}

const eventOf = (taskArn: string, phase: number) => aTaskStateChange({ taskArn, clusterArn, version: phase + 1, lastStatus: STATUSES[phase]! });

/** Delivers the batches one after the other; returns the calls they made, by operation, and the mesh's writes. */
async function deliverAll(batches: object[][]): Promise<{ calls: Record<string, number>; meshWrites: number; groupReads: number }> {
  const before = new Map(p.calls);
  const requests = p.k8s.requests.length;
  for (const batch of batches) expect((await p.deliver(batch)).batchItemFailures).toEqual([]);
  const calls = Object.fromEntries([...p.calls].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0));
  const mesh = p.k8s.requests.slice(requests);
  return { calls, meshWrites: mesh.filter((r) => r.method === 'PATCH').length, groupReads: mesh.filter((r) => r.method === 'GET' && r.resource === 'workloadgroups').length };
}

const chunk = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

describe('a burst of task starts', () => {
  it('enrolls 200 tasks of 4 services, each transition in batches of its own, with two record writes, one address claim and one mesh write per task', async () => {
    const tasks = await startTasks(50);
    const batches = [0, 1, 2].flatMap((phase) => chunk(tasks.map((t) => eventOf(t, phase)), BATCH_SIZE));

    const { calls, meshWrites, groupReads } = await deliverAll(batches);

    expect(batches).toHaveLength(6);
    // A cold container: each service's task definition, role, group and token once, the namespace's
    // policies once, the signing keys once; per batch one BatchGetItem and one DescribeTasks;
    // per task the `pending` record, the address claim, the entry and the `enrolled` record; one token mint per service.
    expect(calls).toEqual({
      'dynamo:BatchGetItem': 6,
      'ecs:DescribeTasks': 6,
      'ecs:DescribeTaskDefinition': SERVICES,
      'iam:GetRole': SERVICES,
      'dynamo:Query': 1,
      'secrets:GetSecretValue': SERVICES + 2,
      'secrets:GetSecretValue:service-token': SERVICES,
      'secrets:CreateSecret': SERVICES + 2,
      'dynamo:UpdateItem': 600,
    });
    expect([meshWrites, groupReads]).toEqual([200, SERVICES]);
    const records = await Promise.all(tasks.map((t) => p.record(t)));
    expect(records.every((r) => r?.phase === 'enrolled' && r.version === 3)).toBe(true);
  });

  it('enrolls 99 more in a warm container, all transitions of a task in one batch, with one record write, one address claim and one mesh write per task and nothing read again', async () => {
    const tasks = (await startTasks(30)).slice(0, 99);
    const batches = chunk(tasks, Math.floor(BATCH_SIZE / 3)).map((group) => group.flatMap((t) => [0, 1, 2].map((phase) => eventOf(t, phase))));

    const { calls, meshWrites, groupReads } = await deliverAll(batches);

    expect(batches.map((b) => b.length)).toEqual([99, 99, 99]);
    // Per task the address claim and the record.
    expect(calls).toEqual({ 'dynamo:BatchGetItem': 3, 'ecs:DescribeTasks': 3, 'dynamo:UpdateItem': 198 });
    expect([meshWrites, groupReads]).toEqual([99, 0]);
    const records = await Promise.all(tasks.map((t) => p.record(t)));
    expect(records.every((r) => r?.phase === 'enrolled' && r.version === 3)).toBe(true);
  });
});
