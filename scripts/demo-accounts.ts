/**
 * `npm run demo`, part three: one mesh, two accounts (docs/multi-account.md#hub-and-spoke).
 * The local stack runs as the hub (account 123456789012) with one member, 444455556666, which has
 * its reader role and forwards its ECS events (local/member-event-forwarding.ts). A task the member
 * runs is enrolled from its forwarded events, explained, and drained when it stops; a member task
 * whose stop event is lost is removed by the hub's reconciler, which lists the member's clusters
 * through its reader role. Run by scripts/demo.ts in a process of its own (the handlers read their
 * settings once). Exits non-zero on a miss.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { stringify } from 'yaml';
import { ECS_TASKS_TRUST_POLICY } from '../local/bootstrap.js';
import { startHttpApi } from '../local/http-api.js';
import { settingsInAccount } from '../local/member-event-forwarding.js';
import { freePort } from '../local/moto.js';
import { startLocalStack } from '../local/stack.js';
import { ecsMeshCli } from './demo-cli.js';

const MEMBER = '444455556666';
const say = (title: string) => console.log(`\n\x1b[1m== ${title}\x1b[0m`);
const fail = (message: string): never => {
  throw new Error(`demo check failed: ${message}`);
};

const meshDir = resolve('.local/demo-accounts-mesh');
rmSync(meshDir, { recursive: true, force: true });
mkdirSync(join(meshDir, 'workloadgroups'), { recursive: true });
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// No policy-stream passes: this part shows only the passes it runs.
process.env.LOCAL_POLICY_STREAM = 'off';

const port = await freePort();
const api = `http://127.0.0.1:${port}`;
const stack = await startLocalStack({ meshDir, logLevel: 'ERROR', issuerUrl: api, memberAccounts: [MEMBER] });
let server: Server | undefined;
try {
  server = await startHttpApi(stack.routes, port);
  const cli = ecsMeshCli(api);
  const ecsMesh = (...args: string[]) => cli(args);

  say(`17. One mesh, two accounts: this stack is the hub (123456789012), ${MEMBER} a member`);
  console.log(`  the member has its reader role (${stack.members.length} member forwarding its ECS Task State Change events to the hub's queue)`);
  writeFileSync(join(meshDir, 'workloadgroups', 'payments.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: { name: payments, namespace: bookinfo, labels: { app: payments } }\nspec: { template: { serviceAccount: payments, ports: { http: 8080 } } }\n');
  const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-payments', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: [MEMBER], ecs: { iamRoleTags: { team: ['payments'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'payments' } } }] }] } };
  writeFileSync(join(meshDir, 'allow-payments.yaml'), stringify(policy));
  await ecsMesh('policy', 'apply', '-f', join(meshDir, 'allow-payments.yaml'));

  say(`18. The member runs a task: its forwarded events enroll it, read through its reader role`);
  const member = await settingsInAccount(stack.clientSettings, MEMBER);
  const role = await new IAMClient(member).send(new CreateRoleCommand({ RoleName: 'payments-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/payments' }, { Key: 'team', Value: 'payments' }] }));
  const ecs = new ECSClient(member);
  await ecs.send(new CreateClusterCommand({ clusterName: 'payments' }));
  const definition = await ecs.send(new RegisterTaskDefinitionCommand({ family: 'payments', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'payments:1', memory: 256 }] }));
  const subnet = (await new EC2Client(member).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  const runTask = async () =>
    (await ecs.send(new RunTaskCommand({ cluster: 'payments', taskDefinition: definition.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }))).tasks![0]!.taskArn!;
  const taskArn = await runTask();
  const taskId = taskArn.split('/').pop()!;
  console.log(`  ${taskArn}`);
  await stack.settle();
  const entryFile = (id: string) => join(meshDir, 'workloadentries', 'bookinfo', `payments-${id}.yaml`);
  if (!existsSync(entryFile(taskId))) fail(`no WorkloadEntry for the member's task ${taskId}`);
  console.log(`  --- ${entryFile(taskId)}\n${readFileSync(entryFile(taskId), 'utf8').replace(/^/gm, '    ')}`);
  const record = await ecsMesh('enrollments', 'get', taskId, '-o', 'json');
  if ((JSON.parse(record) as { phase?: string }).phase !== 'enrolled') fail(`the member's task is not enrolled: ${record}`);

  say('19. Explained: why the member account\'s task is in the mesh');
  const explained = await ecsMesh('explain', '--task-arn', taskArn);
  if (!/allow-payments/.test(explained)) fail('explain does not name the policy that allowed the member task');

  say('20. The member stops it: drained from its forwarded stop');
  await ecs.send(new StopTaskCommand({ cluster: 'payments', task: taskArn }));
  await stack.settle();
  if (existsSync(entryFile(taskId))) fail('the stopped member task is still in the mesh');
  const drained = JSON.parse(await ecsMesh('enrollments', 'get', taskId, '-o', 'json')) as { phase?: string };
  if (drained.phase !== 'deregistered') fail(`the stopped member task is ${drained.phase}`);

  say("21. A member task whose stop event is lost: the hub's reconciler lists the member's clusters and removes it");
  const lost = await runTask();
  const lostId = lost.split('/').pop()!;
  await stack.settle();
  if (!existsSync(entryFile(lostId))) fail(`no WorkloadEntry for the member's task ${lostId}`);
  await ecs.send(new StopTaskCommand({ cluster: 'payments', task: lost }));
  // No settle: the forwarded stop is never delivered, as if the member's rule had dropped it.
  console.log(`  stopped ${lost} in the member account; its stop event is lost`);
  await ecsMesh('reconcile');
  if (existsSync(entryFile(lostId))) fail('the reconciler left the lost member task in the mesh');
  console.log(`  ${entryFile(lostId)} is gone`);
  console.log('\n\x1b[32mAccounts demo complete.\x1b[0m');
} finally {
  server?.close();
  await stack.stop();
}
