/**
 * The task-events pipeline against the local AWS: real SDK clients on moto (each call counted
 * by command name), the Kubernetes API double as the mesh (allowing only what the taskEvents role's
 * ClusterRole in deploy/kubernetes/rbac.yaml grants), the local ECS event source, and
 * the real handler. Each integration file builds one with its own resource names.
 */
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { EC2Client, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, buildReconcileDeps, createAwsClients, EVERY_AWS_CLIENT, type AwsClients } from '../../shared/adapters/wiring.js';
import type { ReconcileDeps } from '../../shared/app/reconcile-tasks.js';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { SqsDeadLetterSink } from '../../shared/adapters/sqs-dead-letter-sink.js';
import { MemoryLog } from './memory-log.js';
import { stepForStatus, type EnrollmentRecord } from '../../shared/core/enrollment.js';
import type { Log, TaskDirectory } from '../../shared/ports.js';
import type { OnboardingPolicy } from '../../shared/core/schemas.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { processTaskEventBatch, type TaskEventsDeps } from '../../functions/task-events/process-batch.js';
import { createTaskEventsHandler } from '../../functions/task-events/handler.js';
import { EcsEventSource } from '../../local/ecs-event-source.js';
import { countCalls } from '../../shared/adapters/aws-call-counter.js';
import { reportTaskVersions } from '../../local/ecs-task-versions.js';
import { ECS_TASKS_TRUST_POLICY, bootstrapLocalStack, localNames, type LocalStack } from '../../local/bootstrap.js';
import { KubernetesApiDouble } from './kubernetes-api-double.js';
import { clusterRolesIn } from './kubernetes/rbac.js';
import { localAwsConfig } from './local-aws.js';
import { asFunction, type CallScope, type FunctionName } from './aws-call-recorder.js';
import { sqsEventOf } from '../fixtures/ecs-events.js';

export const ACCOUNT = '123456789012';
/** A service token's secret (`<prefix>/<namespace>/<group>`, the default prefix): its reads are also counted as `secrets:GetSecretValue:service-token`. */
const SERVICE_TOKEN_SECRET = /^ecs-mesh\/[^/]+\/[^/]+$/;
const MESH_TOKEN = 'test-mesh-token';

export class Pipeline {
  readonly calls = new Map<string, number>();
  readonly log = new MemoryLog();
  readonly deps: TaskEventsDeps;
  readonly handler: ReturnType<typeof createTaskEventsHandler>;
  readonly events: EcsEventSource;
  private subnetId = '';
  /** The highest version delivered per task ARN by `deliver` (not `forged`) or `lose`: what ECS would report. */
  private readonly delivered = new Map<string, number>();
  /** The statuses of the newest stop delivered per task ARN (not `forged`) or lost: what ECS would describe. */
  private readonly deliveredStops = new Map<string, { version: number; lastStatus: string; desiredStatus: string }>();
  /**
   * Addresses DescribeTasks reports instead of moto's, by task ARN: moto gives every task a random
   * address of its own, and a test of two tasks on one address (overlapping CIDRs) names it here.
   */
  readonly addresses = new Map<string, string>();

  private constructor(
    readonly clients: AwsClients,
    readonly stack: LocalStack,
    readonly k8s: KubernetesApiDouble,
    settings: Record<string, string>,
  ) {
    const config = loadConfig('taskEvents', { ...process.env, AWS_ENDPOINT_URL: localAwsConfig().endpoint, POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable, POLICY_CACHE_SECONDS: '0', ...settings });
    const mesh = new KubernetesMeshApi({ baseUrl: k8s.url, token: async () => MESH_TOKEN, timeoutMs: 2000 });
    const deps = buildEnrollmentDeps(config, this.log, clients, mesh);
    this.deps = { ...deps, tasks: this.describingDeliveredStops(deps.tasks), deadLetters: new SqsDeadLetterSink(clients.sqs, stack.deadLetterQueueUrl) };
    this.handler = createTaskEventsHandler(this.deps, new Logger({ logLevel: 'SILENT' }));
    this.events = new EcsEventSource({ ecs: clients.ecs, eventBridge: new EventBridgeClient(localAwsConfig()) });
    // ECS's version of a task: the newest the event source published, or that a test delivered as ECS's.
    reportTaskVersions(clients.ecs, (taskArn) => Math.max(this.events.versionOf(taskArn) ?? 0, this.delivered.get(taskArn) ?? 0) || undefined);
  }

  /**
   * moto's task runs on until StopTask: task-events' DescribeTasks reports a stop delivered as
   * ECS's, as ECS would (the local event source still sees moto's own state).
   */
  private describingDeliveredStops(tasks: TaskDirectory): TaskDirectory {
    return {
      describeTaskDefinition: (arn) => tasks.describeTaskDefinition(arn),
      describeTasks: async (clusterArn, taskArns) => {
        const described = await tasks.describeTasks(clusterArn, taskArns);
        for (const [id, task] of described) {
          const address = this.addresses.get(task.taskArn);
          if (address !== undefined) described.set(id, { ...task, privateIpv4: address });
          const stop = this.deliveredStops.get(task.taskArn);
          if (stop && stepForStatus(task).kind !== 'deregister') described.set(id, { ...described.get(id)!, lastStatus: stop.lastStatus, desiredStatus: stop.desiredStatus });
        }
        return described;
      },
    };
  }

  /** `settings` override the taskEvents configuration (by default policies are not cached, so an edit shows at once). */
  static async start(suffix: string, settings: Record<string, string> = {}): Promise<Pipeline> {
    const aws = localAwsConfig();
    const config = loadConfig('taskEvents', { AWS_ENDPOINT_URL: aws.endpoint, AWS_REGION: aws.region });
    const clients = createAwsClients(config, EVERY_AWS_CLIENT);
    const stack = await bootstrapLocalStack(aws, localNames(suffix));
    const rbac = clusterRolesIn(join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes', 'rbac.yaml')).get('ecs-mesh-onboarding-writer');
    const k8s = await KubernetesApiDouble.start({ token: MESH_TOKEN, rbac });
    const pipeline = new Pipeline(clients, stack, k8s, settings);
    countCalls({ ...clients }, pipeline.calls, (key, input) => (key === 'secrets:GetSecretValue' && SERVICE_TOKEN_SECRET.test((input as { SecretId?: string }).SecretId ?? '') ? 'service-token' : undefined));
    const subnets = await new EC2Client(aws).send(new DescribeSubnetsCommand({}));
    pipeline.subnetId = subnets.Subnets?.[0]?.SubnetId ?? '';
    return pipeline;
  }

  async stop(): Promise<void> {
    await this.k8s.stop();
  }

  /** Stack params every recorded call is evaluated with (e.g. the member-account ones a test configured). */
  stackParams: Record<string, string> = {};

  /** Who makes a call, for the IAM check: `fn` with this stack's tables and queues as its resources. */
  scope(fn: FunctionName, params: Record<string, string> = {}): CallScope {
    const s = this.stack;
    return {
      fn,
      params: { TokenSecretPrefix: 'ecs-mesh', ...this.stackParams, ...params },
      names: { PolicyTable: s.policyTable, EnrollmentTable: s.enrollmentTable, AuthTable: s.authTable, PolicyAuditTable: s.policyAuditTable, TaskEventsQueue: s.queueName, TaskEventsDeadLetterQueue: s.deadLetterQueueName },
    };
  }

  callCount(key: string): number {
    return this.calls.get(key) ?? 0;
  }

  async createRole(name: string, tags: Record<string, string>): Promise<string> {
    const out = await this.clients.iam.send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return out.Role!.Arn!;
  }

  async createCluster(name: string): Promise<string> {
    const out = await this.clients.ecs.send(new CreateClusterCommand({ clusterName: name }));
    return out.cluster!.clusterArn!;
  }

  async registerTaskDefinition(family: string, options: { roleArn?: string; networkMode?: 'awsvpc' | 'bridge' } = {}): Promise<string> {
    const out = await this.clients.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        networkMode: options.networkMode ?? 'awsvpc',
        requiresCompatibilities: [options.networkMode === 'bridge' ? 'EC2' : 'FARGATE'],
        cpu: '256',
        memory: '512',
        ...(options.roleArn ? { taskRoleArn: options.roleArn } : {}),
        containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/docker/library/nginx:latest', essential: true, memory: 256 }],
      }),
    );
    return out.taskDefinition!.taskDefinitionArn!;
  }

  /** RunTask (Fargate, awsvpc unless the definition says otherwise); returns the task ARNs. */
  async runTask(cluster: string, taskDefinition: string, options: { count?: number; tags?: Record<string, string>; networkMode?: 'awsvpc' | 'bridge'; overrideRoleArn?: string } = {}): Promise<string[]> {
    const out = await this.clients.ecs.send(
      new RunTaskCommand({
        cluster,
        taskDefinition,
        count: options.count ?? 1,
        launchType: 'FARGATE',
        ...(options.networkMode === 'bridge' ? {} : { networkConfiguration: { awsvpcConfiguration: { subnets: [this.subnetId], securityGroups: ['sg-12345678'] } } }),
        ...(options.overrideRoleArn ? { overrides: { taskRoleArn: options.overrideRoleArn } } : {}),
        tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
      }),
    );
    return (out.tasks ?? []).map((t) => t.taskArn!);
  }

  async stopTask(cluster: string, taskArn: string): Promise<void> {
    await this.clients.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: 'Scaling activity initiated by test' }));
  }

  async putPolicy(policy: OnboardingPolicy): Promise<void> {
    await this.clients.dynamo.send(
      new PutCommand({ TableName: this.stack.policyTable, Item: { namespace: policy.metadata.namespace, name: policy.metadata.name, revision: 1, document: JSON.stringify(policy) } }),
    );
  }

  /**
   * Lets the event source publish what changed in ECS (unless `publish` is false: only what is
   * already queued), then drains the queue through the handler.
   */
  async pump(options: { publish?: boolean } = {}): Promise<{ failed: string[] }> {
    if (options.publish !== false) await this.events.pollOnce();
    const failed: string[] = [];
    for (;;) {
      const out = await this.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      const messages = out.Messages ?? [];
      if (messages.length === 0) return { failed };
      const event = sqsEventOf(messages.map((m) => m.Body ?? ''));
      event.Records.forEach((r, i) => (r.messageId = messages[i]!.MessageId!));
      const result = await asFunction(this.scope('taskEvents'), () => this.handler(event, {} as Context));
      const failedIds = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      failed.push(...failedIds);
      const done = messages.filter((m) => !failedIds.has(m.MessageId!));
      if (done.length) await this.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.stack.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      if (failedIds.size) return { failed };
    }
  }

  /**
   * Delivers EventBridge envelopes (or raw bodies) straight to the handler as one SQS batch. They
   * become ECS's state of the task (DescribeTasks reports their versions and stops), unless they are `forged`.
   */
  async deliver(envelopes: readonly (object | string)[], options: { forged?: boolean } = {}) {
    if (!options.forged) this.reportAsEcs(envelopes);
    const event: SQSEvent = sqsEventOf(envelopes.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))));
    return asFunction(this.scope('taskEvents'), () => processTaskEventBatch(event.Records, this.deps, new Date()));
  }

  /** Events ECS sent that never arrived: ECS's state of the task moves on, nothing is delivered. */
  lose(envelopes: readonly object[]): void {
    this.reportAsEcs(envelopes);
  }

  private reportAsEcs(envelopes: readonly (object | string)[]): void {
    for (const envelope of envelopes) {
      const detail = typeof envelope === 'object' ? (envelope as { detail?: Partial<Record<'taskArn' | 'version' | 'lastStatus' | 'desiredStatus', unknown>> }).detail : undefined;
      if (typeof detail?.taskArn !== 'string' || typeof detail.version !== 'number') continue;
      this.delivered.set(detail.taskArn, Math.max(this.delivered.get(detail.taskArn) ?? 0, detail.version));
      const statuses = { lastStatus: String(detail.lastStatus), desiredStatus: String(detail.desiredStatus) };
      const stops = ['drain', 'deregister'].includes(stepForStatus(statuses).kind);
      if (stops && detail.version >= (this.deliveredStops.get(detail.taskArn)?.version ?? 0)) this.deliveredStops.set(detail.taskArn, { version: detail.version, ...statuses });
    }
  }

  /**
   * The reconciler on this stack and mesh, configured by `env`: no caches (every pass sees the
   * policies, roles and groups as they are now), no grace period, and no real sleeping.
   */
  reconcileDeps(env: Record<string, string>, log: Log, settings: Partial<ReconcileDeps['settings']> = {}): ReconcileDeps {
    const config = loadConfig('reconcile', {
      ...env,
      AWS_ENDPOINT_URL: localAwsConfig().endpoint,
      POLICY_TABLE: this.stack.policyTable,
      ENROLLMENT_TABLE: this.stack.enrollmentTable,
      AUTH_TABLE: this.stack.authTable,
      POLICY_CACHE_SECONDS: '0',
      ROLE_CACHE_SECONDS: '0',
      WORKLOAD_GROUP_CACHE_SECONDS: '0',
    });
    const mesh = new KubernetesMeshApi({ baseUrl: this.k8s.url, token: async () => MESH_TOKEN, timeoutMs: 2000 });
    const built = buildReconcileDeps(config, log, this.clients, mesh);
    return { ...built, settings: { ...built.settings, graceSeconds: 0, ...settings }, sleep: async () => undefined };
  }

  async record(taskArn: string): Promise<EnrollmentRecord | undefined> {
    return this.deps.enrollments.get(taskArn.split('/').pop()!);
  }

  entries(): WorkloadEntry[] {
    return this.k8s.objects('WorkloadEntry') as unknown as WorkloadEntry[];
  }
}
