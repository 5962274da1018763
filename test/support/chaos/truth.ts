/**
 * What the mesh and the records should say, from ECS (read with the harness's own client) and
 * the scenario's model, compared with what the Kubernetes double and the enrollment table hold.
 */
import { DescribeTasksCommand, paginateListTasks, type ECSClient } from '@aws-sdk/client-ecs';
import { paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isAddressClaimKey } from '../../../shared/adapters/dynamodb-address-claims.js';
import { isNameAddressesKey } from '../../../shared/adapters/dynamodb-name-addresses.js';
import type { WorkloadEntry } from '../../../shared/core/kubernetes-types.js';
import { endpointsForService, type ModelWorkloadEntry } from '../istiod-model/endpoints.js';
import { addressOf, allowedNow, kubernetesServiceOf, type Service, type World } from './world.js';

const MANAGED_BY = 'app.kubernetes.io/managed-by';
const TASK_ARN_ANNOTATION = 'ecsmesh.io/task-arn';

export interface RunningTask {
  taskArn: string;
  taskId: string;
  clusterName: string;
  service: Service;
  address: string;
  /** The network its account's deployment names (meshNetworks), if any; else its group template's. */
  network: string | undefined;
}

/** Every task ECS reports running in the world's clusters of every account, with the service it belongs to. */
export async function runningTasks(world: World, accounts: ReadonlyMap<string, { ecs: ECSClient }>): Promise<Map<string, RunningTask>> {
  const byDefinition = new Map(world.services.map((s) => [s.taskDefinitionArn, s]));
  const running = new Map<string, RunningTask>();
  for (const [accountId, { ecs }] of accounts) for (const cluster of world.clusters) {
    const arns: string[] = [];
    for await (const page of paginateListTasks({ client: ecs }, { cluster, desiredStatus: 'RUNNING' })) arns.push(...(page.taskArns ?? []));
    for (let i = 0; i < arns.length; i += 100) {
      const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
      for (const task of tasks) {
        const service = byDefinition.get(task.taskDefinitionArn ?? '');
        if (!task.taskArn || task.lastStatus !== 'RUNNING' || !service) continue;
        const address = addressOf(task) ?? '';
        running.set(task.taskArn, { taskArn: task.taskArn, taskId: task.taskArn.split('/').pop()!, clusterName: cluster, service, address, network: world.accountNetworks.get(accountId) });
      }
    }
  }
  return running;
}

export interface MeshComparison {
  expected: number;
  /** An allowed running task without its entry. */
  missing: number;
  /** An entry of a task ECS no longer runs. */
  stale: number;
  /** The entry is there but not as the current template and task call for. */
  drifted: number;
  /** An entry of a running task that may not be in the mesh (revoked, untagged, group gone), or a second one. */
  wronglyPresent: number;
  examples: string[];
}

/** Compares the managed entries in the mesh with the ones the truth calls for. */
export function compareMesh(world: World, running: Map<string, RunningTask>, entries: readonly WorkloadEntry[]): MeshComparison {
  const result: MeshComparison = { expected: 0, missing: 0, stale: 0, drifted: 0, wronglyPresent: 0, examples: [] };
  const note = (line: string) => void (result.examples.length < 10 && result.examples.push(line));
  const byTask = new Map<string, WorkloadEntry[]>();
  for (const entry of entries) {
    if (entry.metadata.labels?.[MANAGED_BY] !== 'ecs-mesh-onboarding') continue;
    const arn = entry.metadata.annotations?.[TASK_ARN_ANNOTATION] ?? '';
    byTask.set(arn, [...(byTask.get(arn) ?? []), entry]);
  }
  for (const task of running.values()) {
    if (!allowedNow(world, task.service, task.clusterName)) continue;
    result.expected += 1;
    const [entry, ...extra] = byTask.get(task.taskArn) ?? [];
    if (!entry) {
      result.missing += 1;
      note(`missing: ${task.service.namespace}/${task.service.name} task ${task.taskId}`);
      continue;
    }
    result.wronglyPresent += extra.length;
    const problem = driftOf(entry, task);
    if (problem) {
      result.drifted += 1;
      note(`drifted: ${entry.metadata.namespace}/${entry.metadata.name}: ${problem}`);
    }
  }
  for (const [arn, taskEntries] of byTask) {
    const task = running.get(arn);
    if (task && allowedNow(world, task.service, task.clusterName)) continue;
    if (task) result.wronglyPresent += taskEntries.length;
    else result.stale += taskEntries.length;
    note(`${task ? 'wrongly present' : 'stale'}: ${taskEntries.map((e) => `${e.metadata.namespace}/${e.metadata.name}`).join(', ')}`);
  }
  return result;
}

/** The name of the task's entry, which its sidecar declares in its `WORKLOAD_ENTRY` metadata. */
export function entryNameOf(task: RunningTask): string {
  return `${task.service.name}-${task.taskId}`.toLowerCase();
}

/** What differs between the entry and what the service's current template and the task call for. */
function driftOf(entry: WorkloadEntry, task: RunningTask): string | undefined {
  const { template, namespace } = task.service;
  const spec = entry.spec as Record<string, unknown> & { labels?: Record<string, string> };
  if (entry.metadata.namespace !== namespace) return `in namespace ${entry.metadata.namespace}, not ${namespace}`;
  if (entry.metadata.name !== entryNameOf(task)) return `named ${entry.metadata.name}`;
  if (spec.address !== task.address) return `address ${String(spec.address)}, ECS says ${task.address}`;
  if (spec.serviceAccount !== template.serviceAccount) return `serviceAccount ${String(spec.serviceAccount)}`;
  if (spec.network !== (task.network ?? template.network)) return `network ${String(spec.network)}`;
  if (JSON.stringify(spec.ports) !== JSON.stringify(template.ports)) return `ports ${JSON.stringify(spec.ports)}`;
  if (spec.weight !== undefined) return `weight ${String(spec.weight)}`;
  for (const [key, value] of Object.entries(template.labels)) {
    if (spec.labels?.[key] !== value || entry.metadata.labels?.[key] !== value) return `label ${key} is not ${value}`;
  }
  return undefined;
}

export interface RecordView {
  version: number;
  phase: string;
}

/** Every enrollment record: task id → version and phase. */
export async function snapshotRecords(dynamo: DynamoDBDocumentClient, table: string): Promise<Map<string, RecordView>> {
  const records = new Map<string, RecordView>();
  for await (const page of paginateScan({ client: dynamo }, { TableName: table, ConsistentRead: true })) {
    // Address claims share the table (docs/architecture.md#networks); they are no task's record.
    for (const item of page.Items ?? []) if (!isAddressClaimKey(String(item.taskId)) && !isNameAddressesKey(String(item.taskId))) records.set(String(item.taskId), { version: Number(item.version), phase: String(item.phase) });
  }
  return records;
}

const TOMBSTONES = new Set(['draining', 'deregistered']);

export interface RecordHistory {
  lost: number;
  movedBackwards: number;
  /** A tombstone (stop seen) turned live again. */
  revived: number;
}

/** Between two snapshots, no record may vanish, lose version, or come back from a tombstone. */
export function compareSnapshots(before: Map<string, RecordView>, after: Map<string, RecordView>, into: RecordHistory, note: (line: string) => void): void {
  for (const [taskId, was] of before) {
    const now = after.get(taskId);
    if (!now) {
      into.lost += 1;
      note(`record lost: ${taskId} (was v${was.version} ${was.phase})`);
    } else if (now.version < was.version) {
      into.movedBackwards += 1;
      note(`record moved backwards: ${taskId} v${was.version} → v${now.version}`);
    } else if (TOMBSTONES.has(was.phase) && !TOMBSTONES.has(now.phase)) {
      into.revived += 1;
      note(`tombstone revived: ${taskId} ${was.phase} → ${now.phase}`);
    }
  }
}

/**
 * Records that disagree with the truth: an allowed running task whose record does not say
 * enrolled, or a record saying enrolled or pending for any other task; and versions above ECS's.
 */
export function compareRecords(world: World, running: Map<string, RunningTask>, records: Map<string, RecordView>, ecsVersion: (taskId: string) => number | undefined, note: (line: string) => void): { disagreeing: number; aheadOfEcs: number } {
  let disagreeing = 0;
  let aheadOfEcs = 0;
  const expected = new Set([...running.values()].filter((t) => allowedNow(world, t.service, t.clusterName)).map((t) => t.taskId));
  for (const taskId of expected) {
    const phase = records.get(taskId)?.phase;
    if (phase !== 'enrolled') {
      disagreeing += 1;
      note(`record of ${taskId} says ${phase ?? 'nothing'}, the task is running and allowed`);
    }
  }
  for (const [taskId, record] of records) {
    if (!expected.has(taskId) && (record.phase === 'enrolled' || record.phase === 'pending')) {
      disagreeing += 1;
      note(`record of ${taskId} says ${record.phase}, the task is not running or not allowed`);
    }
    const ecs = ecsVersion(taskId);
    if (ecs !== undefined && record.version > ecs) {
      aheadOfEcs += 1;
      note(`record of ${taskId} at v${record.version}, ECS at v${ecs}`);
    }
  }
  return { disagreeing, aheadOfEcs };
}

export interface EndpointComparison {
  expected: number;
  served: number;
  /** A running, allowed and healthy task that its Service does not send traffic to. */
  missing: number;
  /** An endpoint of no such task (stopped, refused, unhealthy), or at the wrong address or port. */
  wronglyPresent: number;
  examples: string[];
}

/**
 * The endpoints istiod serves for each service's Kubernetes Service (istiod model, over the
 * entries on the double) against the truth: exactly one endpoint, at the task's address and its
 * group's `http` port, for each running and allowed task that is healthy (its group has no probe,
 * or its sidecar is connected and its last probe passed), and no other.
 */
export function compareEndpoints(world: World, running: Map<string, RunningTask>, healthy: (task: RunningTask) => boolean, entries: readonly ModelWorkloadEntry[]): EndpointComparison {
  const expected = [...running.values()].filter((t) => allowedNow(world, t.service, t.clusterName) && healthy(t));
  const result: EndpointComparison = { expected: expected.length, served: 0, missing: 0, wronglyPresent: 0, examples: [] };
  const note = (line: string) => void (result.examples.length < 10 && result.examples.push(line));
  const endpointOf = (service: Service, address: string, port: number | undefined) => `${service.namespace}/${service.name} ${address}:${String(port)}`;
  const wanted = new Set(expected.map((t) => endpointOf(t.service, t.address, t.service.template.ports.http)));
  const matched = new Set<string>();
  for (const service of world.services) {
    for (const endpoint of endpointsForService(kubernetesServiceOf(service), entries, { clusterId: 'Kubernetes' })) {
      const key = endpointOf(service, endpoint.address, endpoint.endpointPort);
      result.served += 1;
      // A second endpoint for the same task is as wrong as one for no task.
      if (wanted.has(key) && !matched.has(key)) matched.add(key);
      else {
        result.wronglyPresent += 1;
        note(`endpoint wrongly present: ${key} (${endpoint.workloadEntry})`);
      }
    }
  }
  for (const key of wanted) {
    if (matched.has(key)) continue;
    result.missing += 1;
    note(`endpoint missing: ${key}`);
  }
  return result;
}
