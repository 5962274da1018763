/**
 * The chaos harness's own machinery, so its zeros mean something: the simulated queue keeps SQS's
 * semantics, and the mesh comparison sees each kind of difference.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedQueue, type QueuedMessage } from '../support/chaos/simulated-queue.js';
import { compareEndpoints, compareMesh, compareSnapshots, type RunningTask } from '../support/chaos/truth.js';
import type { Service, World } from '../support/chaos/world.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';

const SETTINGS = { visibilityTimeoutSeconds: 30, maxReceiveCount: 3, batchSize: 10, concurrency: 2, parallelism: 1, roundSeconds: 1 };

describe('SimulatedQueue', () => {
  it('redelivers a failed item after the visibility timeout and deletes the rest', async () => {
    const queue = new SimulatedQueue(SETTINGS);
    queue.send('a', 0);
    queue.send('b', 0);
    const seen: [string, number, number][] = [];
    let failedOnce = false;

    await queue.runUntil(Infinity, async (batch) => {
      for (const m of batch) seen.push([m.body, m.receiveCount, queue.now]);
      const a = batch.find((m) => m.body === 'a');
      if (a && !failedOnce) {
        failedOnce = true;
        return [a.id];
      }
      return [];
    });

    expect(seen).toEqual([['a', 1, 0], ['b', 1, 0], ['a', 2, 30]]);
    expect(queue.deadLetters).toEqual([]);
    expect(queue.redeliveries).toBe(1);
  });

  it('moves a message to the DLQ on the receive after maxReceiveCount', async () => {
    const queue = new SimulatedQueue(SETTINGS);
    queue.send('poison', 0);
    const receives: number[] = [];

    await queue.runUntil(Infinity, async (batch) => {
      receives.push(...batch.map((m) => m.receiveCount));
      return batch.map((m) => m.id);
    });

    expect(receives).toEqual([1, 2, 3]);
    expect(queue.deadLetters.map((m: QueuedMessage) => [m.body, m.receiveCount])).toEqual([['poison', 4]]);
    expect(queue.now).toBeGreaterThanOrEqual(90);
  });

  it('redrives dead letters with their receive count reset', async () => {
    const queue = new SimulatedQueue(SETTINGS);
    queue.send('poison', 0);
    await queue.runUntil(Infinity, async (batch) => batch.map((m) => m.id));
    const receives: number[] = [];

    const moved = queue.redriveDeadLetters();
    await queue.runUntil(Infinity, async (batch) => (receives.push(...batch.map((m) => m.receiveCount)), []));

    expect(moved).toBe(1);
    expect(receives).toEqual([1]);
    expect(queue.deadLetters).toEqual([]);
  });

  it('redelivers the whole batch when the handler throws', async () => {
    const queue = new SimulatedQueue({ ...SETTINGS, concurrency: 1 });
    for (const body of ['a', 'b', 'c']) queue.send(body, 0);
    let calls = 0;

    await queue.runUntil(Infinity, async () => {
      if (calls++ === 0) throw new Error('function crashed');
      return [];
    });

    expect(queue.handlerErrors).toBe(1);
    expect(queue.redeliveries).toBe(3);
    expect(queue.receives).toBe(6);
  });

  it('stops at the given virtual time, leaving later messages queued', async () => {
    const queue = new SimulatedQueue(SETTINGS);
    queue.send('early', 5);
    queue.send('late', 100);
    const bodies: string[] = [];

    await queue.runUntil(50, async (batch) => (bodies.push(...batch.map((m) => m.body)), []));

    expect(bodies).toEqual(['early']);
    expect(queue.depth).toBe(1);
    expect(queue.now).toBe(50);
  });
});

const service = (name: string, over: Partial<Service> = {}): Service => ({
  name,
  accountId: '123456789012',
  namespace: 'ns-0',
  roleArn: '',
  roleName: '',
  taskDefinitionArn: name,
  template: { serviceAccount: name, network: 'vpc-chaos', ports: { http: 8080 }, labels: { app: name, version: 'v1' } },
  teamTagged: true,
  groupDeleted: false,
  probed: false,
  ...over,
});

const task = (id: string, svc: Service, clusterName = 'chaos-0'): RunningTask => ({ taskArn: `arn:aws:ecs:us-east-1:123456789012:task/${clusterName}/${id}`, taskId: id, clusterName, service: svc, address: `10.0.0.${id.length}`, network: undefined });

function entryFor(t: RunningTask, over: Record<string, unknown> = {}): WorkloadEntry {
  const { template } = t.service;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: { name: `${t.service.name}-${t.taskId}`, namespace: t.service.namespace, labels: { ...template.labels, 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding' }, annotations: { 'ecsmesh.io/task-arn': t.taskArn } },
    spec: { address: t.address, labels: template.labels, serviceAccount: template.serviceAccount, network: template.network, ports: template.ports, ...over },
  } as WorkloadEntry;
}

describe('compareMesh', () => {
  const ok = service('ok');
  const revoked = service('revoked', { teamTagged: false });
  const world: World = { accounts: ['123456789012'], clusters: ['chaos-0', 'chaos-1'], accountNetworks: new Map(), services: [ok, revoked], allowedClusters: new Map([['ns-0', ['chaos-0']]]), policyRevision: 1, addressesHandedOut: new Map() };

  it('finds nothing when the mesh is the truth', () => {
    const t = task('aaa', ok);

    const result = compareMesh(world, new Map([[t.taskArn, t]]), [entryFor(t)]);

    expect(result).toMatchObject({ expected: 1, missing: 0, stale: 0, drifted: 0, wronglyPresent: 0 });
  });

  const running = task('aaa', ok);
  const gone = task('bbb', ok);
  const untagged = task('ccc', revoked);
  const offPolicy = task('ddd', ok, 'chaos-1');
  it.each([
    { case: 'an allowed running task without an entry', kind: 'missing', tasks: [running], entries: [] },
    { case: 'an entry of a task ECS no longer runs', kind: 'stale', tasks: [running], entries: [entryFor(running), entryFor(gone)] },
    { case: 'an entry with the old template', kind: 'drifted', tasks: [running], entries: [entryFor(running, { ports: { http: 1 } })] },
    { case: "an entry on its group template's network where its account names its own", kind: 'drifted', tasks: [{ ...running, network: 'net-b' }], entries: [entryFor(running)] },
    { case: 'an entry of a task whose role lost its tag', kind: 'wronglyPresent', tasks: [running, untagged], entries: [entryFor(running), entryFor(untagged)] },
    { case: 'an entry of a task on a cluster the policy no longer allows', kind: 'wronglyPresent', tasks: [running, offPolicy], entries: [entryFor(running), entryFor(offPolicy)] },
    { case: 'a second entry of an allowed task', kind: 'wronglyPresent', tasks: [running], entries: [entryFor(running), { ...entryFor(running), metadata: { ...entryFor(running).metadata, namespace: 'ns-1' } }] },
  ] as const)('counts $case', ({ kind, tasks, entries }) => {
    const result = compareMesh(world, new Map(tasks.map((t) => [t.taskArn, t])), entries);

    expect(result[kind]).toBe(1);
    for (const other of (['missing', 'stale', 'drifted', 'wronglyPresent'] as const).filter((k) => k !== kind)) expect(result[other], other).toBe(0);
  });
});

describe('compareEndpoints', () => {
  const plain = service('plain');
  const probed = service('probed', { probed: true });
  const world: World = { accounts: ['123456789012'], clusters: ['chaos-0'], accountNetworks: new Map(), services: [plain, probed], allowedClusters: new Map([['ns-0', ['chaos-0']]]), policyRevision: 1, addressesHandedOut: new Map() };
  const at = (t: RunningTask, address: string): RunningTask => ({ ...t, address });
  const plainTask = at(task('p1', plain), '10.0.0.1');
  const healthyTask = at(task('h1', probed), '10.0.0.2');
  const failingTask = at(task('f1', probed), '10.0.0.3');
  /** The entry we write for a task of a probed group, with the Healthy condition istiod wrote, if any. */
  const checked = (t: RunningTask, healthy?: 'True' | 'False') => {
    const entry = entryFor(t);
    return { ...entry, metadata: { ...entry.metadata, annotations: { ...entry.metadata.annotations, 'proxy.istio.io/health-checks-enabled': 'true' } }, ...(healthy ? { status: { conditions: [{ type: 'Healthy', status: healthy }] } } : {}) };
  };
  const healthy = (t: RunningTask) => t !== failingTask;
  const running = new Map([plainTask, healthyTask, failingTask].map((t) => [t.taskArn, t]));

  it('finds nothing when istiod serves exactly the running, allowed and healthy tasks, each at its http port', () => {
    const result = compareEndpoints(world, running, healthy, [entryFor(plainTask), checked(healthyTask, 'True'), checked(failingTask, 'False')]);

    expect(result).toMatchObject({ expected: 2, served: 2, missing: 0, wronglyPresent: 0 });
  });

  it.each([
    { case: 'a healthy task whose entry istiod holds back (no Healthy condition yet)', kind: 'missing', entries: [entryFor(plainTask), checked(healthyTask), checked(failingTask, 'False')] },
    { case: 'a task whose probe failed, still served (its entry not health-checked)', kind: 'wronglyPresent', entries: [entryFor(plainTask), checked(healthyTask, 'True'), entryFor(failingTask)] },
    { case: 'a second endpoint of the same task', kind: 'wronglyPresent', entries: [entryFor(plainTask), { ...entryFor(plainTask), metadata: { ...entryFor(plainTask).metadata, name: 'plain-copy' } }, checked(healthyTask, 'True')] },
  ] as const)('counts $case', ({ kind, entries }) => {
    const result = compareEndpoints(world, running, healthy, entries);

    expect(result[kind]).toBe(1);
    expect(result[kind === 'missing' ? 'wronglyPresent' : 'missing']).toBe(0);
  });

  it('counts an endpoint at a port other than the group’s http port as both missing and wrongly present', () => {
    const result = compareEndpoints(world, running, healthy, [entryFor(plainTask, { ports: { http: 9999 } }), checked(healthyTask, 'True')]);

    expect(result).toMatchObject({ missing: 1, wronglyPresent: 1 });
  });
});

describe('compareSnapshots', () => {
  it('counts records lost, moved backwards, and tombstones turned live', () => {
    const before = new Map([['a', { version: 3, phase: 'enrolled' }], ['b', { version: 5, phase: 'enrolled' }], ['c', { version: 5, phase: 'deregistered' }], ['d', { version: 2, phase: 'pending' }]]);
    const after = new Map([['b', { version: 4, phase: 'enrolled' }], ['c', { version: 5, phase: 'enrolled' }], ['d', { version: 3, phase: 'enrolled' }]]);
    const into = { lost: 0, movedBackwards: 0, revived: 0 };

    compareSnapshots(before, after, into, () => {});

    expect(into).toEqual({ lost: 1, movedBackwards: 1, revived: 1 });
  });
});
