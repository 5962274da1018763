import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, type ECSClientResolvedConfig, type ServiceInputTypes, type ServiceOutputTypes, type Task } from '@aws-sdk/client-ecs';
import { enrollTasks, type BatchItem } from '../../shared/app/enroll-tasks.js';
import type { EnrollmentDeps } from '../../shared/app/deps.js';
import { EcsTaskDirectory } from '../../shared/adapters/ecs-task-directory.js';
import { FileMeshApi } from '../../shared/adapters/file-mesh-api.js';
import { MeshApiError } from '../../shared/errors.js';
import type { MeshApi } from '../../shared/ports.js';
import { ACCOUNT, NOW, aPolicy } from '../fixtures/builders.js';
import { InMemoryEnrollmentStore } from '../support/in-memory-ports.js';
import { MemoryLog } from '../support/memory-log.js';

// Throttling cannot be produced by moto: these use an SDK mock (and in-memory ports) on purpose.
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ratings-task`;
const DEF = `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/ratings:1`;
const cluster = (name: string) => `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/${name}`;
const taskArn = (clusterName: string, id: string) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task/${clusterName}/${id}`;

function running(clusterName: string, id: string, version = 3): BatchItem {
  return {
    id: `msg-${id}`,
    event: { eventId: `e-${id}`, account: ACCOUNT, region: 'us-east-1', time: NOW.toISOString(), taskArn: taskArn(clusterName, id), taskId: id, clusterArn: cluster(clusterName), clusterName, taskDefinitionArn: DEF, version, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', launchType: 'FARGATE' },
  };
}

function stopped(clusterName: string, id: string, version: number): BatchItem {
  const { event } = running(clusterName, id, version);
  return { id: `msg-${id}-stop`, event: { ...event, lastStatus: 'STOPPED', desiredStatus: 'STOPPED' } };
}

const describedTask = (clusterName: string, id: string): Task => ({
  taskArn: taskArn(clusterName, id),
  clusterArn: cluster(clusterName),
  taskDefinitionArn: DEF,
  lastStatus: 'RUNNING',
  desiredStatus: 'RUNNING',
  launchType: 'FARGATE',
  attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: '10.0.0.7' }] }],
  tags: [{ key: 'ecsmesh.io/workload-group', value: 'bookinfo/ratings' }],
});

let dir: string;
let ecs: ECSClient;
let ecsMock: AwsStub<ServiceInputTypes, ServiceOutputTypes, ECSClientResolvedConfig>;
let enrollments: InMemoryEnrollmentStore;
let mesh: MeshApi;
let deps: EnrollmentDeps;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enroll-'));
  mkdirSync(join(dir, 'workloadgroups'));
  writeFileSync(join(dir, 'workloadgroups', 'g.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: ratings, namespace: bookinfo, uid: u1, labels: {app: ratings}}\nspec: {}\n');
  ecs = new ECSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  ecsMock = mockClient(ecs);
  ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: DEF, networkMode: 'awsvpc', taskRoleArn: ROLE } });
  enrollments = new InMemoryEnrollmentStore();
  mesh = new FileMeshApi(dir);
  deps = {
    tasks: new EcsTaskDirectory(ecs),
    roles: { getRole: async (arn) => ({ arn, name: 'ratings-task', roleId: 'AROA1', accountId: ACCOUNT, tags: { team: 'ratings' } }) },
    policies: { listPolicies: async () => [{ valid: true, name: 'allow-ratings', revision: 1, policy: aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] }) }] },
    enrollments,
    get mesh() {
      return mesh;
    },
    log: new MemoryLog(),
    tombstoneTtlSeconds: 60,
    deployment: 'ecs-mesh-onboarding',
  };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('enrollTasks', () => {
  it('fails only the records of a cluster whose DescribeTasks is throttled', async () => {
    ecsMock
      .on(DescribeTasksCommand, { cluster: cluster('busy') })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .on(DescribeTasksCommand, { cluster: cluster('calm') })
      .resolves({ tasks: [describedTask('calm', 'b2')] });

    const result = await enrollTasks([running('busy', 'a1'), running('calm', 'b2')], deps, NOW);

    expect(result.failedIds).toEqual(['msg-a1']);
    expect(result.outcomes.find((o) => o.taskId === 'a1')?.error).toContain('throttled');
    expect(enrollments.records.get('a1')).toBeUndefined();
    expect(enrollments.records.get('b2')).toMatchObject({ phase: 'enrolled' });
  });

  it("logs each task's lines with the SQS message id of the event acted on", async () => {
    ecsMock
      .on(DescribeTasksCommand, { cluster: cluster('busy') })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .on(DescribeTasksCommand, { cluster: cluster('calm') })
      .resolves({ tasks: [describedTask('calm', 'b2')] });

    await enrollTasks([running('busy', 'a1'), running('calm', 'b2')], deps, NOW);

    const lines = (deps.log as MemoryLog).lines;
    expect(lines.find((l) => l.message.startsWith('task event failed'))?.extra).toMatchObject({ taskId: 'a1', correlation_id: 'msg-a1' });
    const b2Lines = lines.filter((l) => l.extra?.taskId === 'b2');
    expect(b2Lines.length).toBeGreaterThan(0);
    for (const line of b2Lines) expect(line.extra?.correlation_id, line.message).toBe('msg-b2');
  });

  it('fails only its own record when the mesh refuses one of two applies', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [describedTask('prod', 'a1'), describedTask('prod', 'b2')] });
    const files = mesh;
    mesh = {
      getWorkloadGroup: (ref) => files.getWorkloadGroup(ref),
      getWorkloadEntry: (ref) => files.getWorkloadEntry(ref),
      listWorkloadEntries: (labels, ns) => files.listWorkloadEntries(labels, ns),
      deleteWorkloadEntry: (ref, pre) => files.deleteWorkloadEntry(ref, pre),
      applyWorkloadEntry: async (entry) => {
        if (entry.metadata.name.endsWith('a1')) throw new MeshApiError('HTTP 503', { status: 503 });
        return files.applyWorkloadEntry(entry);
      },
    };

    const result = await enrollTasks([running('prod', 'a1'), running('prod', 'b2')], deps, NOW);

    expect(result.failedIds).toEqual(['msg-a1']);
    expect(enrollments.records.get('a1')).toBeUndefined();
    expect(enrollments.records.get('b2')).toMatchObject({ phase: 'enrolled' });
  });

  it('does not take a stop on the event alone while DescribeTasks is throttled: SQS redelivers it', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [{ ...describedTask('prod', 'a1'), version: 3 }] });
    await enrollTasks([running('prod', 'a1')], deps, NOW);
    const entry = { namespace: 'bookinfo', name: 'ratings-a1' };
    expect(await mesh.getWorkloadEntry(entry)).toBeDefined();
    const stop = stopped('prod', 'a1', 4);
    ecsMock.on(DescribeTasksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    const during = await enrollTasks([stop], deps, NOW);

    expect(during.failedIds).toEqual(['msg-a1-stop']);
    expect(await mesh.getWorkloadEntry(entry)).toBeDefined();
    expect(enrollments.records.get('a1')).toMatchObject({ phase: 'enrolled', version: 3 });

    // Redelivered once ECS answers again, and it says the task stopped: the stop is taken.
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [{ ...describedTask('prod', 'a1'), lastStatus: 'STOPPED', desiredStatus: 'STOPPED', version: 4 }] });
    const retry = await enrollTasks([stop], deps, NOW);

    expect(retry.failedIds).toEqual([]);
    expect(await mesh.getWorkloadEntry(entry)).toBeUndefined();
    expect(enrollments.records.get('a1')).toMatchObject({ phase: 'deregistered', version: 4 });
  });

  it('removes the entry it just applied when a stop wins the race for the record', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [describedTask('prod', 'a1')] });
    // A concurrent invocation processes STOPPED (v5) between our apply and our record write.
    enrollments.beforePut = (record) => {
      if (record.phase !== 'enrolled') return;
      enrollments.beforePut = undefined;
      enrollments.records.set('a1', { ...record, version: 5, phase: 'deregistered', reason: 'TASK_STOPPED', entryName: undefined, namespace: undefined });
    };

    const result = await enrollTasks([running('prod', 'a1')], deps, NOW);

    expect(result.failedIds).toEqual([]);
    expect(await mesh.getWorkloadEntry({ namespace: 'bookinfo', name: 'ratings-a1' })).toBeUndefined();
    expect(enrollments.records.get('a1')).toMatchObject({ phase: 'deregistered', version: 5 });
  });
});
