/**
 * Bench section `mesh` (issue 19): the load the control plane puts on the mesh's API server, at
 * the Kubernetes API double over HTTP (the taskEvents role's RBAC) with the real adapter, on moto.
 *   - A 3,000-task burst of RUNNING events through the task-events core (enrollTasks) as the
 *     deployed event source delivers it: at most `taskEventsMaxConcurrency` containers at once,
 *     each invoked with one SQS batch of the deployed size at a time, a failed item redelivered
 *     (here at the queue's tail, not after the visibility timeout) up to the queue's
 *     maxReceiveCount. The double answers in ANSWER_MS and counts the WorkloadEntry writes open
 *     at once (arrival to answer, 429s included): held to maxConcurrency × TASKS_IN_FLIGHT.
 *     A second burst of 3,000 meets an API Priority and Fairness level of half that bound and
 *     must converge through the adapter's Retry-After: every entry present, or the section fails.
 *   - A converged mesh with istiod co-writing: 500 tasks enrolled the same way, istiod (the istiod
 *     model, over HTTP as istiod) connected to each entry's sidecar with a healthy report, then one
 *     reconcile pass (reconcileTasks, the deployed settings): the mesh writes it sends.
 * The converged row runs first, so its pass sees its 500 tasks only; the burst's tasks come after.
 */
import { join } from 'node:path';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { buildEnrollmentDeps, buildReconcileDeps, createAwsClients, EVERY_AWS_CLIENT, type AwsClients } from '../../shared/adapters/wiring.js';
import type { EnrollmentDeps } from '../../shared/app/deps.js';
import { enrollTasks, TASKS_IN_FLIGHT, type BatchItem } from '../../shared/app/enroll-tasks.js';
import { mapLimited } from '../../shared/app/map-limited.js';
import { reconcileTasks } from '../../shared/app/reconcile-tasks.js';
import { loadConfig } from '../../shared/config.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { ANNOTATIONS } from '../../shared/core/workload-entry.js';
import { bootstrapLocalStack, type LocalStack } from '../../local/bootstrap.js';
import { LOCAL_AWS_ENV, startMoto } from '../../local/moto.js';
import { connectSidecar, istiodOverHttp, ISTIOD_RBAC } from '../../test/support/istiod-model/http-store.js';
import { isWorkloadEntryWrite, KubernetesApiDouble, type PriorityAndFairness } from '../../test/support/kubernetes-api-double.js';
import { clusterRolesIn } from '../../test/support/kubernetes/rbac.js';
import { deployedBatchSize, deployedMaxConcurrency, deployedMaxReceiveCount } from './deployed.js';
import { createFleet, eventOf, quiet, refusedForTakenAddress, type Fleet, type Task } from './enrollment.js';
import type { BenchRow, BenchSection } from './row.js';

const BURST = 3000;
const CONVERGED = 500;
/**
 * The double's priority level for the second burst: half the bound, so a burst near the bound is
 * answered with 429 and `Retry-After: 1` (what a real server sends) and must converge through it.
 */
const SEATS = 50;
/**
 * What each answer of the double takes: an API server under load, slow enough that a container's
 * tasks meet at their writes. The bench's own pace (one Node process on moto) spaces writes a few
 * ms apart, so at 20 ms no more than about 10 are ever open and the row could not see the bound.
 */
const ANSWER_MS = 500;
const MESH_TOKEN = 'bench-mesh-token';
const ISTIOD_TOKEN = 'bench-istiod-token';
/** The example's probe (examples/ecs-service/istio/workloadgroup.yaml): entries are health-checked, the only ones istiod writes. */
const PROBE = { periodSeconds: 5, tcpSocket: { port: 9080 } };

export const meshSection: BenchSection = { name: 'mesh', run };

type Settings = { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };

async function run(): Promise<BenchRow[]> {
  const moto = await startMoto();
  const rbac = clusterRolesIn(join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes', 'rbac.yaml')).get('ecs-mesh-onboarding-writer');
  if (!rbac) throw new Error('deploy/kubernetes/rbac.yaml: no ClusterRole ecs-mesh-onboarding-writer');
  const double = await KubernetesApiDouble.start({ token: MESH_TOKEN, rbac });
  double.addIdentity(ISTIOD_TOKEN, ISTIOD_RBAC);
  try {
    Object.assign(process.env, LOCAL_AWS_ENV);
    const settings: Settings = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const stack = await bootstrapLocalStack(settings);
    const config = loadConfig('taskEvents', { AWS_ENDPOINT_URL: moto.endpoint, POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable });
    const clients = createAwsClients(config, EVERY_AWS_CLIENT);
    const fleet = await createFleet(clients, settings, stack.policyTable, { publishGroup: (group) => double.seed({ ...group, metadata: { ...group.metadata } }), probe: PROBE });
    const source: EventSource = { batchSize: deployedBatchSize(), containers: deployedMaxConcurrency(), maxReceives: deployedMaxReceiveCount() };
    // One cold container: its own adapter and caches, as a Lambda container has.
    const container = () => buildEnrollmentDeps(config, quiet, clients, meshApi(double));

    const world: World = { double, clients, stack, endpoint: moto.endpoint, fleet, source, container };
    const converged = await convergedPass(world);
    const bursts = await writeBursts(world);
    return [bursts, converged];
  } finally {
    await double.stop();
    await moto.stop();
  }
}

function meshApi(double: KubernetesApiDouble): KubernetesMeshApi {
  return new KubernetesMeshApi({ baseUrl: double.url, token: async () => MESH_TOKEN, timeoutMs: 10_000 });
}

interface EventSource {
  batchSize: number;
  /** Containers the event source runs at once (MaximumConcurrency). */
  containers: number;
  maxReceives: number;
}

interface World {
  double: KubernetesApiDouble;
  clients: AwsClients;
  stack: LocalStack;
  /** moto's */
  endpoint: string;
  fleet: Fleet;
  source: EventSource;
  /** A cold taskEvents container's deps. */
  container: () => EnrollmentDeps;
}

interface Delivery {
  batches: number;
  /** Items reported failed and received again. */
  redelivered: number;
  /** Tasks refused for moto's duplicate addresses (refusedForTakenAddress). */
  addressTaken: number;
}

/**
 * Delivers every task's RUNNING event as the deployed event source does: `containers` workers,
 * each with its own deps, taking one batch at a time off the queue; a failed item goes back on
 * it. Throws if an item fails `maxReceives` times (it would reach the dead-letter queue).
 */
async function deliverRunning(tasks: Task[], { fleet, source, container }: World): Promise<Delivery> {
  const queue: BatchItem[] = tasks.map((task) => ({ id: `${task.id}-running`, event: eventOf(task, fleet, 1, 'RUNNING') }));
  const receives = new Map<string, number>();
  const containers = Array.from({ length: source.containers }, container);
  let batches = 0;
  let redelivered = 0;
  let addressTaken = 0;
  // A container stops when the queue is empty; items another container then puts back wait for the next round.
  while (queue.length > 0) {
    await Promise.all(
      containers.map(async (deps) => {
        for (let batch = queue.splice(0, source.batchSize); batch.length > 0; batch = queue.splice(0, source.batchSize)) {
          batches += 1;
          const result = await enrollTasks(batch, deps, new Date());
          const failed = new Set(result.failedIds);
          addressTaken += refusedForTakenAddress(result.outcomes).length;
          for (const item of batch.filter((i) => failed.has(i.id))) {
            const received = (receives.get(item.id) ?? 1) + 1;
            if (received > source.maxReceives) throw new Error(`${item.event.taskId}: failed ${source.maxReceives} receives, it would go to the dead-letter queue`);
            receives.set(item.id, received);
            redelivered += 1;
            queue.push(item);
          }
        }
      }),
    );
  }
  return { batches, redelivered, addressTaken };
}

/** The managed entries of these tasks the double holds. */
function entriesOf(double: KubernetesApiDouble, tasks: Task[]): WorkloadEntry[] {
  const arns = new Set(tasks.map((t) => t.arn));
  return (double.objects('WorkloadEntry') as unknown as WorkloadEntry[]).filter((e) => arns.has(e.metadata.annotations?.[ANNOTATIONS.taskArn] ?? ''));
}

interface Burst {
  peak: number;
  writes: number;
  throttled: number;
  delivery: Delivery;
  ms: number;
}

/** BURST new tasks' RUNNING events delivered under `limits` (none: every write served); throws unless every entry is present after. */
async function burst(world: World, limits: PriorityAndFairness | undefined): Promise<Burst> {
  const { double, fleet } = world;
  const tasks = await fleet.runTasks(BURST);
  double.setLatency(ANSWER_MS);
  double.setPriorityAndFairness(limits);
  const gauge = double.watchInFlight(isWorkloadEntryWrite);
  const first = double.requests.length;
  const start = performance.now();
  const delivery = await deliverRunning(tasks, world);
  const ms = performance.now() - start;
  double.setPriorityAndFairness(undefined);
  double.setLatency(0);

  const writes = double.requests.slice(first).filter(isWorkloadEntryWrite);
  const throttled = writes.filter((r) => r.throttled).length;
  const present = entriesOf(double, tasks).length;
  if (present + delivery.addressTaken !== BURST) throw new Error(`burst${limits ? ` at ${limits.seats} seats` : ''}: ${present} of ${BURST} entries present after it (${throttled} writes answered 429, ${delivery.addressTaken} refused ADDRESS_IN_USE)`);
  if (delivery.addressTaken) console.error(`[mesh] ${delivery.addressTaken} task(s) refused ADDRESS_IN_USE: moto gave them the address of a running task`);
  console.error(`[mesh] burst of ${BURST}${limits ? ` at ${limits.seats} seats` : ''}: peak ${gauge.peak} writes in flight, ${writes.length} writes, ${throttled} answered 429, ${delivery.redelivered} redelivered, ${ms.toFixed(0)} ms`);
  return { peak: gauge.peak, writes: writes.length, throttled, delivery, ms };
}

/**
 * Two bursts: one the API server serves whole, whose peak is what the control plane offers (a
 * priority level smaller than that caps what arrives at about its seats, as 429s are answered at
 * once and their senders wait out Retry-After away from the server); and one under a level of
 * SEATS, which must converge through the adapter's Retry-After and SQS redelivery.
 */
async function writeBursts(world: World): Promise<BenchRow> {
  const { source } = world;
  const bound = source.containers * TASKS_IN_FLIGHT;
  const served = await burst(world, undefined);
  const limited = await burst(world, { seats: SEATS, retryAfterSeconds: 1 });
  const meets = served.peak <= bound;
  const n = BURST.toLocaleString('en');
  return {
    measure: `peak concurrent mesh writes, ${n}-task burst (${source.containers} containers, batches of ${source.batchSize}, ${ANSWER_MS} ms per answer)`,
    now: `${served.peak} (${served.writes} writes); under a ${SEATS}-seat priority level another ${n} converge: ${limited.throttled} of ${limited.writes} writes answered 429, ${limited.delivery.redelivered} redelivered, all entries present${refusedNote(served, limited)}`,
    goal: `≤ ${bound}: maxConcurrency ${source.containers} × ${TASKS_IN_FLIGHT} tasks in flight per container`,
    meets,
    ...(meets ? {} : { reason: `${served.peak} writes were open at once at the API server, above ${source.containers} containers × ${TASKS_IN_FLIGHT}: something writes outside the per-container limit` }),
    data: {
      tasks: BURST, bound, containers: source.containers, tasksInFlightPerContainer: TASKS_IN_FLIGHT, batchSize: source.batchSize, answerMs: ANSWER_MS,
      served: { peakInFlight: served.peak, writes: served.writes, throttled: served.throttled, batches: served.delivery.batches, redelivered: served.delivery.redelivered, ms: served.ms },
      throttledAt: { seats: SEATS, retryAfterSeconds: 1, peakInFlight: limited.peak, writes: limited.writes, throttled: limited.throttled, batches: limited.delivery.batches, redelivered: limited.delivery.redelivered, entriesPresent: BURST, ms: limited.ms },
    },
  };
}

async function convergedPass(world: World): Promise<BenchRow> {
  const { double, clients, stack, fleet } = world;
  const tasks = await fleet.runTasks(CONVERGED);
  const { addressTaken } = await deliverRunning(tasks, world);
  const entries = entriesOf(double, tasks);
  const expected = CONVERGED - addressTaken;
  if (entries.length !== expected) throw new Error(`converged mesh: ${entries.length} of ${CONVERGED} entries after enrollment (${addressTaken} refused ADDRESS_IN_USE)`);

  // One istiod: each entry's sidecar connects and its probe passes (annotations, then the Healthy condition).
  const istiod = istiodOverHttp(double.url, ISTIOD_TOKEN);
  const connectedAt = new Date();
  const istiodFirst = double.requests.length;
  await mapLimited(entries, 10, async (entry) => {
    const conn = await connectSidecar(istiod, entry, connectedAt);
    await istiod.reportHealth(conn.proxy, { healthy: true }, new Date(connectedAt.getTime() + 1000));
  });
  const istiodWrites = double.requests.slice(istiodFirst).filter(isWorkloadEntryWrite).length;
  const healthy = entriesOf(double, tasks).filter((e) => (e as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some((c) => c.type === 'Healthy' && c.status === 'True')).length;
  if (healthy !== expected) throw new Error(`converged mesh: istiod reported ${healthy} of ${expected} entries healthy`);

  const config = loadConfig('reconcile', { AWS_ENDPOINT_URL: world.endpoint, POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable, AUTH_TABLE: stack.authTable });
  const deps = buildReconcileDeps(config, quiet, clients, meshApi(double));
  const first = double.requests.length;
  const report = await reconcileTasks({ clusters: [fleet.clusterArn] }, deps, new Date());
  const requests = double.requests.slice(first);
  if (!report.complete || report.tasksJudged !== CONVERGED) throw new Error(`converged mesh: the pass judged ${report.tasksJudged} of ${CONVERGED} tasks (complete: ${report.complete})`);

  const writes = requests.filter(isWorkloadEntryWrite);
  const reads = requests.filter((r) => r.method === 'GET');
  console.error(`[mesh] converged ${CONVERGED} with istiod: ${writes.length} writes, ${reads.length} reads in one pass, ${report.repairs.length} repairs`);
  const meets = writes.length === 0;
  return {
    measure: `mesh writes per reconcile pass, converged mesh of ${CONVERGED} tasks with istiod co-writing (connected, Healthy)`,
    now: `${writes.length} (${reads.length} reads: ${report.tasksJudged} tasks judged)`,
    goal: '0',
    meets,
    ...(meets ? {} : { reason: `the pass wrote ${writes.length} times (${report.repairs.length} repairs: ${[...new Set(report.repairs.map((r) => `${r.kind}: ${r.why}`))].slice(0, 3).join('; ')})` }),
    data: { tasks: CONVERGED, writes: writes.length, reads: reads.length, readsByPath: countBy(reads.map((r) => r.path.replace(/\/(workloadentries|workloadgroups)\/[^/]+$/, '/$1/{name}'))), repairs: report.repairs.length, counts: report.counts, istiodWrites, durationMs: report.durationMs },
  };
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of keys) out[key] = (out[key] ?? 0) + 1;
  return out;
}

/** The tasks of both bursts moto gave a running task's address: refused ADDRESS_IN_USE, as they must be. */
function refusedNote(...bursts: Burst[]): string {
  const refused = bursts.reduce((n, b) => n + b.delivery.addressTaken, 0);
  return refused ? ` but ${refused} refused ADDRESS_IN_USE (moto gave them a running task's address)` : '';
}
