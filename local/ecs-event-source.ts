/**
 * The local stand-in for ECS's event stream (docs/architecture.md#local-aws): moto's ECS emits no events, so this
 * polls the local ECS and publishes "ECS Task State Change" events through EventBridge the way
 * AWS does (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html).
 */
import { DescribeTasksCommand, paginateListClusters, paginateListTasks, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { parseArn } from '../shared/core/task.js';

const SOURCE = 'aws.ecs';
const DETAIL_TYPE = 'ECS Task State Change';
const DESCRIBE_TASKS_MAX = 100;
const PUT_EVENTS_MAX = 10;
/** AWS's task lifecycle order; a status earlier than one already reported is never reported. */
const LIFECYCLE = ['PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED', 'DELETED'];

export interface StatusPair {
  lastStatus: string;
  desiredStatus: string;
}

/** An event as EventBridge delivers it to a target. */
export interface TaskStateChangeEnvelope {
  version: '0';
  id: string;
  'detail-type': typeof DETAIL_TYPE;
  source: typeof SOURCE;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface EcsEventSourceOptions {
  ecs: ECSClient;
  eventBridge: EventBridgeClient;
  eventBusName?: string;
  pollIntervalMs?: number;
  /** Cluster names or ARNs to watch; default: every cluster, listed on each poll. */
  clusters?: string[];
  onEvent?: (envelope: TaskStateChangeEnvelope) => void;
  /** Errors of background polls (`start`); default: logged to stderr. */
  onError?: (error: unknown) => void;
}

interface TaskMemory {
  version: number;
  last: StatusPair;
  reported: Set<string>;
  createdAt: string;
}

interface PendingEvent {
  taskArn: string;
  pair: StatusPair;
  version: number;
  createdAt: string;
  time: Date;
  detail: Record<string, unknown>;
}

/** Turns what the local ECS says now into the events AWS would have sent since the last poll. */
export function transitionsToReport(previous: StatusPair | undefined, observed: StatusPair): StatusPair[] {
  const steps: StatusPair[] = [];
  if (!previous && observed.lastStatus !== 'STOPPED') {
    // AWS reports every task from PROVISIONING on; moto creates tasks already RUNNING.
    for (const status of ['PROVISIONING', 'PENDING']) {
      if (rank(status) < rank(observed.lastStatus)) steps.push({ lastStatus: status, desiredStatus: 'RUNNING' });
    }
  }
  if (previous && previous.desiredStatus !== 'STOPPED' && observed.desiredStatus === 'STOPPED' && observed.lastStatus !== previous.lastStatus) {
    // AWS first announces the stop (desired STOPPED) while the task still runs; moto's StopTask jumps to STOPPED.
    steps.push({ lastStatus: previous.lastStatus, desiredStatus: 'STOPPED' });
  }
  steps.push(observed);
  return steps;
}

/** Polls ECS and publishes Task State Change events for every change it sees. */
export class EcsEventSource {
  private readonly tasks = new Map<string, TaskMemory>();
  private readonly pollIntervalMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(private readonly options: EcsEventSourceOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
  }

  /** The version of the newest event published for the task, as ECS's DescribeTasks reports it. */
  versionOf(taskArn: string): number | undefined {
    return this.tasks.get(taskArn)?.version;
  }

  /** One poll of every watched cluster; resolves to the number of events published. */
  pollOnce(): Promise<number> {
    // Polls run one at a time, so two overlapping polls cannot report the same change twice.
    const poll = this.queue.then(() => this.poll());
    this.queue = poll.catch(() => undefined);
    return poll;
  }

  /** Polls in the background every `pollIntervalMs` until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      try {
        await this.pollOnce();
      } catch (error) {
        (this.options.onError ?? ((e: unknown) => console.error('[ecs-event-source]', e)))(error);
      }
      if (this.running) this.timer = setTimeout(() => void tick(), this.pollIntervalMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  /** Stops polling and waits for a poll in progress. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.queue;
  }

  private async poll(): Promise<number> {
    const pending: PendingEvent[] = [];
    for (const cluster of this.options.clusters ?? (await this.listClusters())) {
      const arns = await this.listTaskArns(cluster);
      for (let i = 0; i < arns.length; i += DESCRIBE_TASKS_MAX) {
        const { tasks = [] } = await this.options.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + DESCRIBE_TASKS_MAX) }));
        for (const task of tasks) pending.push(...this.changesOf(task, new Date()));
      }
    }
    for (let i = 0; i < pending.length; i += PUT_EVENTS_MAX) await this.publish(pending.slice(i, i + PUT_EVENTS_MAX));
    return pending.length;
  }

  private async listClusters(): Promise<string[]> {
    const arns: string[] = [];
    for await (const page of paginateListClusters({ client: this.options.ecs }, {})) arns.push(...(page.clusterArns ?? []));
    return arns;
  }

  private async listTaskArns(cluster: string): Promise<string[]> {
    const arns = new Set<string>();
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      for await (const page of paginateListTasks({ client: this.options.ecs }, { cluster, desiredStatus })) {
        for (const arn of page.taskArns ?? []) arns.add(arn);
      }
    }
    return [...arns];
  }

  private changesOf(task: Task, now: Date): PendingEvent[] {
    const { taskArn, lastStatus, desiredStatus } = task;
    if (!taskArn || !lastStatus || !desiredStatus) return [];
    const memory = this.tasks.get(taskArn);
    const createdAt = task.createdAt?.toISOString() ?? memory?.createdAt ?? now.toISOString();
    let version = memory?.version ?? 0;
    let floor = memory ? rank(memory.last.lastStatus) : -1;
    const events: PendingEvent[] = [];
    for (const pair of transitionsToReport(memory?.last, { lastStatus, desiredStatus })) {
      if (memory?.reported.has(key(pair)) || rank(pair.lastStatus) < floor) continue;
      floor = rank(pair.lastStatus);
      version += 1;
      events.push({ taskArn, pair, version, createdAt, time: now, detail: buildDetail(task, pair, version, createdAt, now) });
    }
    return events;
  }

  private async publish(batch: PendingEvent[]): Promise<void> {
    const entries: PutEventsRequestEntry[] = batch.map((event) => ({
      Source: SOURCE,
      DetailType: DETAIL_TYPE,
      Resources: [event.taskArn],
      Detail: JSON.stringify(event.detail),
      Time: event.time,
      ...(this.options.eventBusName !== undefined && { EventBusName: this.options.eventBusName }),
    }));
    const result = await this.options.eventBridge.send(new PutEventsCommand({ Entries: entries }));
    const failed: string[] = [];
    batch.forEach((event, i) => {
      const outcome = result.Entries?.[i];
      if (!outcome?.EventId || outcome.ErrorCode) return void failed.push(`${event.taskArn} v${event.version}: ${outcome?.ErrorCode ?? 'no result'}`);
      // Remember only what EventBridge accepted, so a failed entry is reported again next poll.
      this.remember(event);
      this.options.onEvent?.(toEnvelope(event, outcome.EventId));
    });
    if ((result.FailedEntryCount ?? 0) > 0 || failed.length > 0) throw new Error(`PutEvents refused ${failed.length} of ${batch.length}: ${failed.join('; ')}`);
  }

  private remember(event: PendingEvent): void {
    const memory = this.tasks.get(event.taskArn) ?? { version: 0, last: event.pair, reported: new Set<string>(), createdAt: event.createdAt };
    memory.version = Math.max(memory.version, event.version);
    memory.last = event.pair;
    memory.reported.add(key(event.pair));
    this.tasks.set(event.taskArn, memory);
  }
}

/** The event `detail`: DescribeTasks' Task with ISO timestamps, as the ECS event doc describes. */
function buildDetail(task: Task, pair: StatusPair, version: number, createdAt: string, now: Date): Record<string, unknown> {
  const { tags: _tags, ...described } = toJson(task) as Record<string, unknown>;
  const at = now.toISOString();
  const detail: Record<string, unknown> = {
    ...described,
    lastStatus: pair.lastStatus,
    desiredStatus: pair.desiredStatus,
    version,
    createdAt,
    updatedAt: at,
    containers: (task.containers ?? []).map((container) => ({
      ...(toJson(container) as Record<string, unknown>),
      // moto reports the task definition ARN here; AWS reports the task's.
      taskArn: task.taskArn,
      lastStatus: containerStatus(pair.lastStatus),
    })),
  };
  if (rank(pair.lastStatus) >= rank('RUNNING')) detail.startedAt ??= at;
  else delete detail.startedAt;
  if (pair.desiredStatus === 'STOPPED') {
    detail.stoppingAt ??= at;
    // moto's StopTask records the reason but no stop code; it is only ever user-initiated there.
    detail.stopCode ??= 'UserInitiated';
    detail.stoppedReason ||= 'Task stopped by user';
  } else {
    delete detail.stoppedReason;
  }
  if (pair.lastStatus === 'STOPPED') {
    detail.stoppedAt ??= at;
    detail.executionStoppedAt ??= at;
  }
  return detail;
}

function toEnvelope(event: PendingEvent, id: string): TaskStateChangeEnvelope {
  const arn = parseArn(event.taskArn);
  const time = event.time.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const [account, region] = [arn?.accountId ?? '', arn?.region ?? ''];
  return { version: '0', id, 'detail-type': DETAIL_TYPE, source: SOURCE, account, time, region, resources: [event.taskArn], detail: event.detail };
}

function containerStatus(taskStatus: string): string {
  if (rank(taskStatus) < rank('RUNNING')) return 'PENDING';
  return taskStatus === 'STOPPED' || taskStatus === 'DEPROVISIONING' ? 'STOPPED' : 'RUNNING';
}

function toJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}

const rank = (status: string): number => LIFECYCLE.indexOf(status);
const key = (pair: StatusPair): string => `${pair.lastStatus}/${pair.desiredStatus}`;
