/**
 * The chaos run of issue 12 (`npm run chaos`, and a small one in `npm test`): thousands of tasks'
 * real event sequences delivered at least once (duplicated, shuffled, some dropped) through SQS's
 * semantics, faults between the functions and AWS and the mesh, a mesh outage longer than the
 * queue's retry window, changes of policy, tags and groups in the middle, then ONE reconcile pass,
 * after which the mesh and the records must be exactly what the truth calls for, and stay so when
 * the DLQ is redriven.
 */
import { join } from 'node:path';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { processTaskEventBatch } from '../../../functions/task-events/process-batch.js';
import { bootstrapLocalStack, localNames, type ClientSettings } from '../../../local/bootstrap.js';
import { settingsInAccount } from '../../../local/member-event-forwarding.js';
import { EcsEventSource, type TaskStateChangeEnvelope } from '../../../local/ecs-event-source.js';
import { reconcileTasks, type ReconcileReport } from '../../../shared/app/reconcile-tasks.js';
import type { WorkloadEntry } from '../../../shared/core/kubernetes-types.js';
import { ANNOTATIONS, DEPLOYMENT_LABEL } from '../../../shared/core/workload-entry.js';
import type { ModelWorkloadEntry } from '../istiod-model/endpoints.js';
import { ISTIOD_ANNOTATIONS, ISTIOD_FIELD_MANAGER } from '../istiod-model/upstream.js';
import { sqsEventOf } from '../../fixtures/ecs-events.js';
import { KubernetesApiDouble } from '../kubernetes-api-double.js';
import { clusterRolesIn } from '../kubernetes/rbac.js';
import { FaultInjector } from './faults.js';
import { MESH_TOKEN, quietLog, reconcileDeps, reportVersionsOfRun, taskEventsDeps, type ChaosDeployment } from './functions.js';
import { seededRandom, type Random } from './random.js';
import { SimulatedQueue, type BatchHandler } from './simulated-queue.js';
import { ChaosSidecars, type IstiodActivity } from './sidecars.js';
import { compareEndpoints, compareMesh, compareRecords, compareSnapshots, runningTasks, snapshotRecords, type EndpointComparison, type MeshComparison, type RecordHistory, type RecordView, type RunningTask } from './truth.js';
import { ACCOUNT, accountsOf, buildWorld, changeWorld, clusterNames, runTasks, type AccountClients } from './world.js';

export interface ChaosOptions {
  tasks: number;
  services: number;
  clusters: number;
  namespaces: number;
  seed: number;
  /** Share of calls to AWS and to the mesh that fail. */
  faultRate: number;
  /** Share of events never delivered. */
  dropRate: number;
  /** Each delivered event arrives 1..maxCopies times. */
  maxCopies: number;
  /** Share of the first wave's tasks stopped in the middle. */
  stopFraction: number;
  /** Entries deleted by hand in the middle. */
  handDeletes: number;
  /** Batches the harness hands to task-events at once (real time, against the local AWS). */
  concurrency: number;
  /**
   * `one-account`; with more accounts (docs/multi-account.md): `hub-and-spoke`, one control
   * plane in the first account whose members' events are forwarded to its queue and whose clusters
   * it lists through their reader roles; or `per-account`, a control plane in each account (its own
   * tables, queue and deployment label), all writing to the one mesh.
   */
  topology: ChaosTopology;
  /** Accounts the services are dealt round (1 for `one-account`). */
  accounts: number;
}

export type ChaosTopology = 'one-account' | 'hub-and-spoke' | 'per-account';
export const MULTI_ACCOUNT_TOPOLOGIES = ['hub-and-spoke', 'per-account'] as const satisfies readonly ChaosTopology[];

export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = { tasks: 2400, services: 40, clusters: 3, namespaces: 4, seed: 12, faultRate: 0.03, dropRate: 0.1, maxCopies: 3, stopFraction: 0.25, handDeletes: 8, concurrency: 4, topology: 'one-account', accounts: 1 };

/** The reader role each member deploys in hub and spoke (CROSS_ACCOUNT_ROLE_NAME). */
const READER_ROLE = 'chaos-mesh-reader';

/**
 * As serverless.yml's queue and event source: batches of up to 100, redrive to the DLQ after 5
 * receives; up to 20 batches every 2 virtual seconds, well above the events' rate, as Lambda
 * scales out. The visibility timeout is 30 s, not the deployed 370 s, so that a mesh outage
 * outlasts the retry window within a short virtual run and messages reach the DLQ.
 */
const QUEUE = { visibilityTimeoutSeconds: 30, maxReceiveCount: 5, batchSize: 100, roundSeconds: 2, concurrency: 20 };
/** Each wave's events arrive over this many virtual seconds. */
const WAVE_SECONDS = 300;
/** Longer than the queue's retry window (5 receives, 30 s apart), so some messages reach the DLQ. */
/** Shares of the connected sidecars whose probe flaps, and whose network blips, at each turn. */
const ISTIOD_CHAOS = { flapShare: 0.15, blipShare: 0.1 };
const OUTAGE = { start: WAVE_SECONDS + 60, seconds: QUEUE.visibilityTimeoutSeconds * QUEUE.maxReceiveCount + 60 };

export interface ChaosReport {
  options: ChaosOptions;
  /** Control planes run, the entries in the mesh at the end by their task's account, and the running tasks' addresses that more than one account holds. */
  accounts: { deployments: number; inMesh: [string, number][]; sharedAddresses: number };
  tasks: { run: number; stopped: number; runningAtEnd: number; expectedInMesh: number };
  events: { published: number; dropped: number; duplicates: number; deliveries: number; receives: number; redeliveries: number; awsCalls: Record<string, number> };
  changes: string[];
  faults: { total: number; byTarget: Record<string, number> };
  outage: { virtualSeconds: number; retryWindowSeconds: number };
  deadLettered: number;
  deadLetteredAfterRedrive: number;
  beforePass: MeshComparison;
  pass: { durationMs: number; tasksSeen: number; repairs: ReconcileReport['counts']; failedRepairs: number; awsCalls: number; awsCallsByCommand: Record<string, number>; meshRequests: number; clustersListed: number };
  afterPass: MeshComparison;
  /** What istiod and the sidecars of probed groups did. */
  istiod: IstiodActivity;
  /** The endpoints istiod serves after the pass, against the running, allowed and healthy tasks. */
  endpoints: EndpointComparison;
  /** A reconcile pass over the converged mesh, istiod's annotations and conditions on its entries. */
  convergedPass: { entriesCoWritten: number; meshRequests: number; meshWrites: number; repairs: number };
  afterRedrive: MeshComparison;
  records: RecordHistory & { disagreeing: number; aheadOfEcs: number };
  /** Every figure here must be 0. */
  mustBeZero: Record<string, number>;
  examples: string[];
  wallSeconds: number;
}

/** Runs the scenario against the local AWS at `endpoint` and a fresh Kubernetes API double. */
export async function runChaos(options: ChaosOptions, endpoint: string, report: (line: string) => void = () => {}): Promise<ChaosReport> {
  const started = Date.now();
  const progress = (line: string) => report(`${((Date.now() - started) / 1000).toFixed(0)} s: ${line}`);
  const random = seededRandom(options.seed);
  const base: ClientSettings = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const accountIds = accountsOf(options.topology === 'one-account' ? 1 : options.accounts);
  // The harness's own clients in each account: ECS itself, the operators' changes, the truth. No faults.
  const accounts = new Map<string, AccountSide>();
  for (const accountId of accountIds) {
    const aws = accountId === ACCOUNT ? base : await settingsInAccount(base, accountId);
    const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.SubnetId ?? '';
    accounts.set(accountId, { aws, subnet, ecs: new ECSClient(aws), iam: new IAMClient(aws), dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(aws)) });
  }
  const deployments = await deploy(options, accounts);
  const rbac = clusterRolesIn(join(import.meta.dirname, '..', '..', '..', 'deploy', 'kubernetes', 'rbac.yaml')).get('ecs-mesh-onboarding-writer');
  const k8s = await KubernetesApiDouble.start({ token: MESH_TOKEN, rbac });
  try {
    const worldClients = { accounts, policyTables: deployments.map((d) => ({ dynamo: accounts.get(d.accountId)!.dynamo, table: d.stack.policyTable })) };
    const world = await buildWorld({ ...options, tag: runTag(options) }, worldClients, k8s);
    for (const d of deployments) for (const [accountId, network] of networksOf(d)) world.accountNetworks.set(accountId, network);
    const faults = new FaultInjector(random, options.faultRate);
    // Each account's ECS emits its tasks' events; a member's reach the hub's queue as its forwarding rule delivers them.
    const envelopes: TaskStateChangeEnvelope[] = [];
    const bus = `chaos-events${runTag(options)}`;
    const sources = new Map<string, EcsEventSource>();
    for (const [accountId, { aws, ecs }] of accounts) {
      await new EventBridgeClient(aws).send(new CreateEventBusCommand({ Name: bus }));
      sources.set(accountId, new EcsEventSource({ ecs, eventBridge: new EventBridgeClient(aws), eventBusName: bus, clusters: world.clusters, onEvent: (e) => void envelopes.push(e) }));
    }
    const pollSources = async () => {
      for (const source of sources.values()) await source.pollOnce();
    };
    const versionOf = (taskArn: string) => sources.get(taskArn.split(':')[4] ?? '')?.versionOf(taskArn);
    reportVersionsOfRun(versionOf);
    const taskArns = new Map<string, string>();
    const ecsVersion = (taskId: string) => versionOf(taskArns.get(taskId) ?? '');

    const log = quietLog();
    const eventCalls = new Map<string, number>();
    const queue = new SimulatedQueue({ ...QUEUE, parallelism: options.concurrency });
    // The containers' caches (role tags, policies, groups) age with the queue's virtual time, not
    // the wall clock: a run takes under a minute of real time, and a 60 s role cache filled before
    // a tag was removed would otherwise still admit the role's tasks at the DLQ redrive, which
    // comes minutes after the change in the run's time (as it would for an operator).
    const virtualClock = () => started + queue.now * 1000;
    const taskEvents = new Map(deployments.map((d) => [d, taskEventsDeps(d, k8s, faults, log, eventCalls, virtualClock)]));
    // Hub and spoke: every account's events reach the one queue. One control plane per account: each
    // account's reach its own; the simulated queue carries them all, and each batch is handed out
    // by account, each deployment taking its own messages (their retries and DLQ are per message).
    const deploymentOf = (body: string) => deployments.find((d) => d.accountId === (JSON.parse(body) as TaskStateChangeEnvelope).account) ?? deployments[0]!;
    const handle: BatchHandler = async (batch) => {
      const failed = await Promise.all(
        [...taskEvents].map(async ([deployment, deps]) => {
          const mine = batch.filter((m) => deploymentOf(m.body) === deployment);
          if (!mine.length) return [];
          const records: SQSRecord[] = sqsEventOf(mine.map((m) => m.body)).Records.map((r, i) => ({ ...r, messageId: mine[i]!.id, attributes: { ...r.attributes, ApproximateReceiveCount: String(mine[i]!.receiveCount) } }));
          const out = await processTaskEventBatch(records, deps, new Date());
          return out.batchItemFailures.map((f) => f.itemIdentifier);
        }),
      );
      return failed.flat();
    };
    const outage = (now: number) => k8s.setOutage(now >= OUTAGE.start && now < OUTAGE.start + OUTAGE.seconds ? 503 : undefined);
    const events = { published: 0, dropped: 0, duplicates: 0, deliveries: 0 };
    const schedule = (from: number) => {
      const batch = envelopes.splice(0);
      events.published += batch.length;
      for (const envelope of batch) {
        if (random.chance(options.dropRate)) {
          events.dropped += 1;
          continue;
        }
        const copies = random.int(1, options.maxCopies);
        events.duplicates += copies - 1;
        events.deliveries += copies;
        for (let c = 0; c < copies; c++) queue.send(JSON.stringify(envelope), from + random.next() * WAVE_SECONDS);
      }
    };

    const waveA = Math.round(options.tasks * 0.75);
    const first = await runTasks(world, accounts, waveA, taskArns);
    await pollSources();
    schedule(0);
    progress(`wave 1: ${first.length} tasks running, ${events.published} events published; delivering...`);
    await queue.runUntil(WAVE_SECONDS, handle, outage);

    // istiod: the sidecars of the probed groups' tasks connect, report their first probe; some flap.
    const sidecars = new ChaosSidecars(k8s, random);
    await sidecars.start((await runningTasks(world, accounts)).values());
    await sidecars.flap(ISTIOD_CHAOS.flapShare);
    progress(`istiod: ${sidecars.activity.connects} sidecars connected, ${sidecars.activity.refused} refused (no entry yet)`);

    const history: RecordHistory = { lost: 0, movedBackwards: 0, revived: 0 };
    const examples: string[] = [];
    const note = (line: string) => void (examples.length < 20 && examples.push(line));
    const snapshot = () => snapshotAll(deployments, accounts);
    const midway = await snapshot();

    const stopped = random.shuffle(first).slice(0, Math.round(first.length * options.stopFraction));
    for (const { cluster, taskArn } of stopped) await accounts.get(taskArn.split(':')[4] ?? '')!.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: 'Scaling activity (chaos)' }));
    await sidecars.stop(stopped.map((s) => s.taskArn));
    const second = await runTasks(world, accounts, options.tasks - waveA, taskArns);
    const changes = await changeWorld(world, worldClients, k8s);
    changes.push(`${handDelete(k8s, random, options.handDeletes)} entries deleted by hand`);
    changes.unshift(`${stopped.length} tasks stopped, ${second.length} more started`);
    await pollSources();
    schedule(WAVE_SECONDS);
    progress(`wave 2: ${changes.join('; ')}; delivering through a ${OUTAGE.seconds} s mesh outage...`);
    await queue.runUntil(Infinity, handle, outage);
    k8s.setOutage(undefined);

    const drained = await snapshot();
    compareSnapshots(midway, drained, history, note);
    const running = await runningTasks(world, accounts);
    // The second wave's sidecars connect; istiod restarts and every sidecar reconnects to the new
    // instance; networks blip and probes flap. The restart comes after the hand deletes: istiod
    // takes an entry's health only from a connect, so an entry re-created under a sidecar that
    // stays connected is held back until it reconnects, which no pass of ours can change.
    // Sidecars whose entry is still missing are refused here and retry after the pass.
    await sidecars.start(running.values());
    await sidecars.restartIstiod();
    await sidecars.blip(ISTIOD_CHAOS.blipShare);
    await sidecars.flap(ISTIOD_CHAOS.flapShare);
    const beforePass = compareMesh(world, running, entriesOf(k8s));
    progress(`events drained (${queue.deadLetters.length} on the DLQ); before the pass: ${beforePass.missing} missing, ${beforePass.stale} stale, ${beforePass.drifted} drifted, ${beforePass.wronglyPresent} wrongly present; one reconcile pass...`);

    // A fresh container's reconciler, with no fault: the pass is what must converge.
    faults.enabled = false;
    const passCalls = new Map<string, number>();
    const reconcilers = deployments.map((d) => reconcileDeps(d, k8s, options.tasks * 2, passCalls, log));
    const reconcile = async () => combinedPass(await Promise.all(reconcilers.map((deps) => reconcileTasks({}, deps, new Date()))));
    const meshBefore = k8s.requests.length;
    // Probes keep flapping while the pass runs: istiod writes the entries the pass reads and repairs.
    const [pass] = await Promise.all([reconcile(), sidecars.flap(ISTIOD_CHAOS.flapShare)]);
    const meshRequests = k8s.requests.length - meshBefore;

    const after = await snapshot();
    compareSnapshots(drained, after, history, note);
    const afterPass = compareMesh(world, running, entriesOf(k8s));
    // Sidecars refused earlier (their entry was missing or not theirs) connect now that it is there.
    await sidecars.reconnectPending();
    const endpoints = compareEndpoints(world, running, (task) => sidecars.healthy(task), entriesOf(k8s) as unknown as ModelWorkloadEntry[]);
    progress(`istiod: ${endpoints.served} endpoints served, ${endpoints.expected} expected (running, allowed, healthy)`);
    const deadLettered = queue.deadLetters.length;

    // The mesh is back, so an operator redrives the DLQ, faults and all. These events are older
    // than what the pass wrote: they must change nothing (the reconciler's fencing, at scale).
    faults.enabled = true;
    queue.redriveDeadLetters();
    await queue.runUntil(Infinity, handle);
    faults.enabled = false;
    const redriven = await snapshot();
    compareSnapshots(after, redriven, history, note);
    const afterRedrive = compareMesh(world, running, entriesOf(k8s));
    const records = { ...history, ...compareRecords(world, running, redriven, ecsVersion, note) };

    // The mesh has converged, istiod's annotations and conditions on its entries: a pass writes nothing.
    const entriesCoWritten = entriesOf(k8s).filter((e) => e.metadata.annotations?.[ISTIOD_ANNOTATIONS.workloadController] !== undefined).length;
    const convergedBefore = k8s.requests.length;
    const converged = await reconcile();
    const convergedRequests = k8s.requests.slice(convergedBefore).filter((r) => r.userAgent?.startsWith(`${ISTIOD_FIELD_MANAGER}/`) !== true);
    const convergedWrites = convergedRequests.filter((r) => WRITE_METHODS.has(r.method));
    for (const r of convergedWrites.slice(0, 5)) note(`mesh write in the converged pass: ${r.method} ${r.path}`);
    const failedRepairs = pass.repairs.filter((r) => !r.applied).length;
    for (const r of pass.repairs.filter((r) => !r.applied).slice(0, 5)) note(`repair failed: ${r.kind} ${r.taskId}: ${r.error ?? ''}`);
    for (const u of pass.unjudged.slice(0, 5)) note(`unjudged: ${u.taskId}: ${u.error}`);
    examples.push(...afterPass.examples, ...endpoints.examples, ...afterRedrive.examples.map((e) => `after the redrive: ${e}`));
    const byAccount = accountsOfEntries(deployments.map((d, i) => ({ accountId: d.accountId, label: reconcilers[i]!.deployment })), entriesOf(k8s), note);
    return {
      options,
      accounts: { deployments: deployments.length, inMesh: byAccount.inMesh, sharedAddresses: sharedAddresses(running.values()) },
      tasks: { run: first.length + second.length, stopped: stopped.length, runningAtEnd: running.size, expectedInMesh: afterPass.expected },
      events: { ...events, receives: queue.receives, redeliveries: queue.redeliveries, awsCalls: Object.fromEntries([...eventCalls].sort()) },
      changes,
      faults: { total: faults.total(), byTarget: Object.fromEntries([...faults.injected].sort()) },
      outage: { virtualSeconds: OUTAGE.seconds, retryWindowSeconds: QUEUE.visibilityTimeoutSeconds * QUEUE.maxReceiveCount },
      deadLettered,
      deadLetteredAfterRedrive: queue.deadLetters.length,
      beforePass,
      pass: {
        durationMs: pass.durationMs,
        tasksSeen: pass.tasksSeen,
        repairs: pass.counts,
        failedRepairs,
        awsCalls: [...passCalls.values()].reduce((a, b) => a + b, 0),
        awsCallsByCommand: Object.fromEntries([...passCalls].sort()),
        meshRequests,
        clustersListed: pass.clusters.length,
      },
      afterPass,
      istiod: sidecars.activity,
      endpoints,
      convergedPass: { entriesCoWritten, meshRequests: convergedRequests.length, meshWrites: convergedWrites.length, repairs: converged.repairs.length },
      afterRedrive,
      records,
      mustBeZero: {
        missing: afterPass.missing,
        stale: afterPass.stale,
        drifted: afterPass.drifted,
        'wrongly present': afterPass.wronglyPresent,
        'endpoints missing': endpoints.missing,
        'endpoints wrongly present': endpoints.wronglyPresent,
        'differences after the DLQ redrive': afterRedrive.missing + afterRedrive.stale + afterRedrive.drifted + afterRedrive.wronglyPresent,
        'records disagreeing': records.disagreeing,
        'records lost': records.lost,
        'records moved backwards': records.movedBackwards,
        'tombstones revived': records.revived,
        'records ahead of ECS': records.aheadOfEcs,
        'repairs failed': failedRepairs,
        'tasks left unjudged': pass.unjudged.length,
        'mesh writes in a pass over a converged mesh': convergedWrites.length,
        ...(accounts.size > 1 ? { "entries not labelled with their account's deployment": byAccount.mislabelled } : {}),
      },
      examples,
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    k8s.setOutage(undefined);
    await k8s.stop();
  }
}

/** The harness's clients acting in one account, and its subnet for tasks. */
interface AccountSide extends AccountClients {
  aws: ChaosDeployment['aws'];
  subnet: string;
  dynamo: DynamoDBDocumentClient;
}

/**
 * The control planes of the topology, each with its fresh stack in its account: one in the first
 * account (with the others as its members in hub and spoke, their reader roles created there), or
 * one per account, each labelling its entries with its own deployment (AUTH_AUDIENCE). With several
 * accounts, their addresses overlap (each has its own default VPC): each names its own network.
 */
async function deploy(options: ChaosOptions, accounts: ReadonlyMap<string, AccountSide>): Promise<ChaosDeployment[]> {
  const names = localNames(`-chaos-${options.seed}-${options.tasks}${runTag(options)}`);
  const [hub, ...members] = [...accounts.keys()];
  // Each watches the run's clusters alone (ecsClusters): another run's, on the same moto, are none of its business.
  const multi: Record<string, string> = accounts.size > 1 ? { MESH_NETWORKS: [...accounts.keys()].map((a) => `${a}=net-${a}`).join(','), ECS_CLUSTERS: clusterNames({ ...options, tag: runTag(options) }).join(',') } : {};
  const at = async (accountId: string, env: Record<string, string>): Promise<ChaosDeployment> => {
    const { aws } = accounts.get(accountId)!;
    return { accountId, aws, stack: await bootstrapLocalStack(aws, names), env: { ...multi, ...env } };
  };
  if (options.topology === 'per-account') return Promise.all([...accounts.keys()].map((a) => at(a, { AUTH_AUDIENCE: `ecs-mesh-onboarding-${a}` })));
  if (options.topology === 'one-account' || !members.length) return [await at(hub!, {})];
  for (const member of members) await accounts.get(member)!.iam.send(new CreateRoleCommand({ RoleName: `${READER_ROLE}${runTag(options)}`, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${hub!}:root` }, Action: 'sts:AssumeRole' }] }) }));
  return [await at(hub!, { MEMBER_ACCOUNTS: members.join(','), CROSS_ACCOUNT_ROLE_NAME: `${READER_ROLE}${runTag(options)}` })];
}

/** Sets a topology's clusters, roles and tables apart from another's run on the same moto: each run starts fresh. */
const runTag = (options: ChaosOptions) => (options.topology === 'one-account' ? '' : `-${options.topology}`);

/** The networks a deployment's MESH_NETWORKS names, by account. */
function networksOf(deployment: ChaosDeployment): [string, string][] {
  return (deployment.env.MESH_NETWORKS ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string]);
}

/** Every deployment's enrollment records (task ids are unique across accounts). */
async function snapshotAll(deployments: readonly ChaosDeployment[], accounts: ReadonlyMap<string, AccountSide>): Promise<Map<string, RecordView>> {
  const all = new Map<string, RecordView>();
  for (const d of deployments) for (const [taskId, record] of await snapshotRecords(accounts.get(d.accountId)!.dynamo, d.stack.enrollmentTable)) all.set(taskId, record);
  return all;
}

/** The passes of every deployment, run at once, as one. */
function combinedPass(passes: ReconcileReport[]): ReconcileReport {
  const [first, ...rest] = passes;
  return rest.reduce(
    (a, b) => ({
      ...a,
      clusters: [...a.clusters, ...b.clusters],
      tasksSeen: a.tasksSeen + b.tasksSeen,
      tasksJudged: a.tasksJudged + b.tasksJudged,
      complete: a.complete && b.complete,
      counts: Object.fromEntries(Object.keys({ ...a.counts, ...b.counts }).map((k) => [k, (a.counts[k as keyof typeof a.counts] ?? 0) + (b.counts[k as keyof typeof b.counts] ?? 0)])) as ReconcileReport['counts'],
      repairs: [...a.repairs, ...b.repairs],
      unjudged: [...a.unjudged, ...b.unjudged],
      durationMs: Math.max(a.durationMs, b.durationMs),
    }),
    first!,
  );
}

/**
 * The mesh's entries by their task's account, and those not labelled with the deployment of their
 * account (ecsmesh.io/deployment): what each deployment wrote is its own alone to judge.
 */
function accountsOfEntries(deployments: readonly { accountId: string; label: string }[], entries: readonly WorkloadEntry[], note: (line: string) => void): { inMesh: [string, number][]; mislabelled: number } {
  const inMesh = new Map<string, number>();
  let mislabelled = 0;
  for (const entry of entries) {
    const account = entry.metadata.annotations?.[ANNOTATIONS.taskArn]?.split(':')[4] ?? '';
    inMesh.set(account, (inMesh.get(account) ?? 0) + 1);
    const { label } = deployments.find((d) => d.accountId === account) ?? deployments[0]!;
    if (entry.metadata.labels?.[DEPLOYMENT_LABEL] === label) continue;
    mislabelled += 1;
    note(`entry ${entry.metadata.namespace}/${entry.metadata.name} of account ${account} labelled ${String(entry.metadata.labels?.[DEPLOYMENT_LABEL])}, not ${label}`);
  }
  return { inMesh: [...inMesh].sort(), mislabelled };
}

/** Addresses that tasks of more than one account hold (overlapping VPCs): their entries must be on different networks. */
function sharedAddresses(running: Iterable<RunningTask>): number {
  const accountsAt = new Map<string, Set<string>>();
  for (const task of running) accountsAt.set(task.address, (accountsAt.get(task.address) ?? new Set()).add(task.service.accountId));
  return [...accountsAt.values()].filter((holders) => holders.size > 1).length;
}

/** Deletes `count` managed entries as an operator would with kubectl. */
function handDelete(k8s: KubernetesApiDouble, random: Random, count: number): number {
  const victims = random.shuffle(entriesOf(k8s)).slice(0, count);
  for (const e of victims) k8s.adminDelete('WorkloadEntry', e.metadata.namespace, e.metadata.name);
  return victims.length;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const entriesOf = (k8s: KubernetesApiDouble) => k8s.objects('WorkloadEntry') as unknown as WorkloadEntry[];
