/**
 * Bench section `enrollment`: what one enrollment costs. Runs batches of 10 RUNNING events of one
 * cluster through the task-events pipeline on moto (file mesh) and reports AWS calls per
 * enrollment by API, plus wall time per batch. moto's latency is not AWS's: read the call
 * counts as the cost model and the times only as a relative measure between revisions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, createAwsClients } from '../../shared/adapters/wiring.js';
import { FileMeshApi } from '../../shared/adapters/file-mesh-api.js';
import { enrollTasks, type BatchItem } from '../../shared/app/enroll-tasks.js';
import type { Log } from '../../shared/app/log.js';
import { taskIdFromArn } from '../../shared/core/task.js';
import { bootstrapLocalStack } from '../../local/bootstrap.js';
import { countCalls } from '../../shared/adapters/aws-call-counter.js';
import { LOCAL_AWS_ENV, startMoto } from '../../local/moto.js';

import type { BenchRow, BenchSection } from './row.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 5);
const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: (m, e) => console.error(m, e) };

export const enrollmentSection: BenchSection = { name: 'enrollment', run };

async function run(): Promise<BenchRow[]> {
const moto = await startMoto();
const meshDir = mkdtempSync(join(tmpdir(), 'bench-mesh-'));
try {
  Object.assign(process.env, LOCAL_AWS_ENV);
  const settings = { endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const stack = await bootstrapLocalStack(settings);
  const config = loadConfig('taskEvents', { AWS_ENDPOINT_URL: moto.endpoint, POLICY_TABLE: stack.policyTable, ENROLLMENT_TABLE: stack.enrollmentTable });
  const clients = createAwsClients(config);
  const mesh = new FileMeshApi(meshDir);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(meshDir, 'workloadgroups'), { recursive: true });
  writeFileSync(join(meshDir, 'workloadgroups', 'g.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: ratings, namespace: bookinfo, uid: u1, labels: {app: ratings}}\nspec: {template: {ports: {http: 9080}}}\n');

  const role = (await clients.iam.send(new CreateRoleCommand({ RoleName: 'bench', AssumeRolePolicyDocument: '{}', Tags: [{ Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ratings' }] }))).Role!.Arn!;
  const clusterArn = (await clients.ecs.send(new CreateClusterCommand({ clusterName: 'bench' }))).cluster!.clusterArn!;
  const def = (await clients.ecs.send(new RegisterTaskDefinitionCommand({ family: 'bench', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }))).taskDefinition!.taskDefinitionArn!;
  const subnet = (await new EC2Client(settings).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  await clients.dynamo.send(new PutCommand({ TableName: stack.policyTable, Item: { namespace: 'bookinfo', name: 'all', revision: 1, document: JSON.stringify({ apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'all', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] } }) } }));

  const calls = new Map<string, number>();
  countCalls({ ...clients }, calls);
  const deps = buildEnrollmentDeps(config, quiet, clients, mesh);
  const times: number[] = [];
  let enrolled = 0;
  let warmCalls = 0;
  for (let b = 0; b < BATCHES; b++) {
    const tasks = (await clients.ecs.send(new RunTaskCommand({ cluster: 'bench', taskDefinition: def, count: 10, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }))).tasks!;
    calls.clear();
    const items: BatchItem[] = tasks.map((t, i) => ({
      id: `m${b}-${i}`,
      event: { eventId: `e${b}-${i}`, account: '123456789012', region: 'us-east-1', time: new Date().toISOString(), taskArn: t.taskArn!, taskId: taskIdFromArn(t.taskArn!)!, clusterArn, clusterName: 'bench', taskDefinitionArn: def, version: 3, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', launchType: 'FARGATE' },
    }));
    const start = performance.now();
    const result = await enrollTasks(items, deps, new Date());
    times.push(performance.now() - start);
    enrolled += result.outcomes.filter((o) => o.phase === 'enrolled').length;
    const total = [...calls.values()].reduce((a, c) => a + c, 0);
    if (b > 0) warmCalls += total;
    console.error(`batch ${b + 1}${b === 0 ? ' (cold caches)' : ''}: ${result.outcomes.filter((o) => o.phase === 'enrolled').length}/10 enrolled, ${(times.at(-1) ?? 0).toFixed(0)} ms, ${total} AWS calls (${(total / 10).toFixed(1)} per enrollment): ${[...calls].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  console.error(`\n${enrolled} enrollments; warm batch of 10: median ${(warm[Math.floor(warm.length / 2)] ?? times[0]!).toFixed(0)} ms`);
  if (enrolled !== BATCHES * 10) throw new Error(`only ${enrolled} of ${BATCHES * 10} tasks enrolled`);
  // Placeholder row until the burst measures of issue 13 replace this section.
  const perEnrollment = warmCalls / ((BATCHES - 1) * 10);
  return [{ measure: 'calls per enrollment, warm batches of 10 RUNNING', now: perEnrollment.toFixed(1), goal: 'n/a', meets: true, data: { batches: BATCHES, warmCalls } }];
} finally {
  rmSync(meshDir, { recursive: true, force: true });
  await moto.stop();
}
}
