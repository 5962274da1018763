/**
 * `npm run demo`: the main job end to end on the local AWS, from nothing. Tasks launched with
 * RunTask are enrolled as WorkloadEntries, one is stopped and removed, and a task whose role
 * lacks the required tag is refused with its reason. Then a signing key is rotated in two phases,
 * with time compressed by settings, and the reconciler repairs an entry deleted by hand and removes
 * a task a narrowed policy no longer allows. Last (scripts/demo-health.ts), what istiod serves: the
 * example's probed task becomes an endpoint of its Service once its probe passes, and leaves when it
 * fails; (scripts/demo-accounts.ts) a member account's task enrolled through its forwarded
 * events, explained and drained; and (scripts/demo-names.ts) a group's upstreams getting mesh
 * names and Sidecar listeners on one address, and losing them with the declaration. Exits non-zero
 * if any step misbehaves.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { stringify } from 'yaml';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { spawn, spawnSync } from 'node:child_process';
import { startCredentialsEndpoint, startTaskMetadataEndpoint } from '../local/ecs-agent-endpoints.js';
import { freePort } from '../local/moto.js';
import { startHttpApi } from '../local/http-api.js';
import { LOCAL_OPERATOR } from '../local/iam-authorizer.js';
import { signedFetch } from '../cli/api/signed-fetch.js';
import { startLocalStack } from '../local/stack.js';
import { ecsMeshCli } from './demo-cli.js';
import { ECS_TASKS_TRUST_POLICY } from '../local/bootstrap.js';

const meshDir = '.local/demo-mesh';
const say = (title: string) => console.log(`\n\x1b[1m== ${title}\x1b[0m`);
const fail = (message: string): never => {
  throw new Error(`demo check failed: ${message}`);
};

const GROUP_YAML = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: ratings
  namespace: bookinfo
  uid: 6c1a4c1e-0000-4000-8000-000000000001
  labels:
    app: ratings
spec:
  metadata:
    labels:
      app: ratings
      version: v1
  template:
    serviceAccount: bookinfo-ratings
    network: vpc-demo
    ports:
      http: 9080
`;

rmSync(meshDir, { recursive: true, force: true });
// The story reads better without the auth function's EMF metric lines (npm run local keeps them).
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Time compressed for the rotation (step 11): a rotated-in key is published 20 s before it signs
// (1 h by default) and tokens live 60 s (24 h and 1 h), so the old key retires about a minute later.
const PREPUBLISH_SECONDS = 20;
Object.assign(process.env, { KEY_PREPUBLISH_SECONDS: String(PREPUBLISH_SECONDS), KEY_CACHE_SECONDS: '1', DATA_PLANE_TOKEN_LIFETIME_SECONDS: '60', ONBOARDING_TOKEN_LIFETIME_SECONDS: '60' });
const port = await freePort();
const api = `http://127.0.0.1:${port}`;
const stack = await startLocalStack({ meshDir, logLevel: 'ERROR', issuerUrl: api });
let server: Server | undefined;
try {
  server = await startHttpApi(stack.routes, port);
  const aws = stack.clientSettings;
  const ecs = new ECSClient(aws);
  const iam = new IAMClient(aws);
  say(`Local AWS (moto) on ${aws.endpoint}; mesh manifests in ${meshDir}/`);

  say('1. IAM task roles with tags');
  const role = async (name: string, tags: Record<string, string>) => {
    const out = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    console.log(`  ${out.Role!.Arn}  tags ${JSON.stringify(tags)}`);
    return out.Role!.Arn!;
  };
  const ratingsRole = await role('ratings-task', { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' });
  const intruderRole = await role('intruder-task', { 'ecsmesh.io/workload-group': 'bookinfo/ratings' });

  say('2. OnboardingPolicies applied with the operator CLI (SigV4 to the policy API)');
  // The operator's CLI, as a process: `npm run ecs-mesh -- <args>` with ECS_MESH_API_URL set.
  const cli = ecsMeshCli(api);
  const ecsMesh = (...args: string[]) => cli(args);
  /** The same, printing nothing: for answers the demo reads rather than shows. */
  const ecsMeshQuiet = (...args: string[]) => cli(args, { print: false });
  console.log(readFileSync('examples/policies/bookinfo.yaml', 'utf8').split('\n---')[0]!.replace(/^/gm, '  '));
  await ecsMesh('policy', 'apply', '-f', 'examples/policies/');

  say('3. A WorkloadGroup in the mesh');
  writeFileSync(join(meshDir, 'workloadgroups', 'ratings.yaml'), GROUP_YAML);
  console.log(`  ${meshDir}/workloadgroups/ratings.yaml: bookinfo/ratings (app=ratings)`);

  say('4. A cluster and tasks launched with RunTask');
  await ecs.send(new CreateClusterCommand({ clusterName: 'demo' }));
  const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  const taskDefinition = async (family: string, roleArn: string) =>
    (await ecs.send(new RegisterTaskDefinitionCommand({ family, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: roleArn, containerDefinitions: [{ name: 'app', image: 'ratings:1', memory: 256 }] }))).taskDefinition!.taskDefinitionArn!;
  const run = async (definition: string, count: number) =>
    ((await ecs.send(new RunTaskCommand({ cluster: 'demo', taskDefinition: definition, count, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-demo'] } } }))).tasks ?? []).map((t) => t.taskArn!);
  const ratingsTasks = await run(await taskDefinition('ratings', ratingsRole), 2);
  const [intruderTask] = await run(await taskDefinition('intruder', intruderRole), 1);
  for (const arn of [...ratingsTasks, intruderTask!]) console.log(`  ${arn}`);

  say('5. ECS events flow EventBridge → SQS → task-events: enrolled tasks get WorkloadEntries');
  await stack.settle();
  const entries = () =>
    readdirSync(join(meshDir, 'workloadentries', 'bookinfo'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => ({ file: f, text: readFileSync(join(meshDir, 'workloadentries', 'bookinfo', f), 'utf8') }));
  const enrolled = entries();
  for (const { file, text } of enrolled) console.log(`  --- ${meshDir}/workloadentries/bookinfo/${file}\n${text.replace(/^/gm, '  ')}`);
  if (enrolled.length !== 2) fail(`expected 2 WorkloadEntries, found ${enrolled.length}`);

  say('6. Enrollment status API (GET /v1/enrollments), served by the enrollments handler');
  // The operator routes need a SigV4 signature (AWS_IAM), here by the local credentials.
  const operatorGet = (path: string) => signedFetch(`${api}${path}`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
  const status = async (taskArn: string) => (await (await operatorGet(`/v1/enrollments/${taskArn.split('/').pop()}`)).json()) as Record<string, unknown>;
  for (const arn of ratingsTasks) {
    const s = await status(arn);
    console.log(`  ${String(s.taskId)}: ${String(s.phase)} (${String(s.reason)}: ${String(s.detail)}) → ${String(s.namespace)}/${String(s.entryName)} @ ${String(s.address)}`);
    if (s.phase !== 'enrolled') fail(`task ${arn} is ${String(s.phase)}`);
  }

  say('7. A task whose role lacks the required tag is refused');
  const refused = await status(intruderTask!);
  console.log(`  ${String(refused.taskId)}: ${String(refused.phase)} ${String(refused.reason)}\n  why: ${String(refused.detail)}`);
  if (refused.phase !== 'rejected' || refused.reason !== 'POLICY_DENIED') fail('the intruder task was not refused with POLICY_DENIED');
  const explained = await ecsMesh('explain', '--task-arn', intruderTask!);
  if (!explained.includes('REFUSED: POLICY_DENIED')) fail('explain did not agree with the refusal');

  say('8. The service\'s data-plane token (Secrets Manager), verified through the published JWKS');
  const secretId = 'ecs-mesh/bookinfo/ratings';
  const stored = JSON.parse((await new SecretsManagerClient(aws).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString!) as Record<string, string>;
  const token = stored.token!;
  console.log(`  secret ${secretId}  (a task definition injects it with valueFrom: <secret-arn>:token::)`);
  console.log(stringify({ ...stored, token: `${token.slice(0, 12)}…(redacted, ${token.length} chars)` }).replace(/^/gm, '    '));
  const discovery = (await (await fetch(`${api}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const verified = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: api, audience: 'istio-ca' });
  console.log(`  verified with ${discovery.jwks_uri} (kid ${verified.protectedHeader.kid}); claims:`);
  console.log(stringify(verified.payload).replace(/^/gm, '    '));
  if (verified.payload.sub !== 'system:serviceaccount:bookinfo:bookinfo-ratings') fail('unexpected token subject');

  say('9. The sidecar agent proves its task\'s IAM identity and gets a per-task token');
  const agentRun = async (taskArn: string, roleArn: string) => {
    // As ECS does: the task role's session is named after the task id.
    const creds = (await new STSClient(aws).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: taskArn.split('/').pop()! }))).Credentials!;
    const credentials = await startCredentialsEndpoint({ AccessKeyId: creds.AccessKeyId!, SecretAccessKey: creds.SecretAccessKey!, Token: creds.SessionToken!, Expiration: creds.Expiration!.toISOString() });
    const metadata = await startTaskMetadataEndpoint(taskArn);
    const tokenPath = resolve(meshDir, `agent-${taskArn.split('/').pop()}.token`);
    try {
      // Asynchronously: the stand-in endpoints are served by this very process.
      const agent = spawn(process.execPath, ['--import', 'tsx', 'cli/ecs-mesh-agent.ts', '--once'], {
        env: { PATH: process.env.PATH ?? '', ONBOARDING_CONFIG: `onboardingEndpoint: { host: 127.0.0.1, port: ${port}, scheme: http }`, ONBOARDING_TOKEN_PATH: tokenPath, STS_ENDPOINT: aws.endpoint, AWS_REGION: 'us-east-1', ECS_CONTAINER_METADATA_URI_V4: metadata.url, AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      agent.stdout.on('data', (c: Buffer) => (log += c.toString()));
      agent.stderr.on('data', (c: Buffer) => (log += c.toString()));
      const timer = setTimeout(() => agent.kill('SIGKILL'), 30_000);
      const status = await new Promise<number | null>((done) => agent.once('exit', done));
      clearTimeout(timer);
      return { status, log: log.trim(), tokenPath };
    } finally {
      await credentials.close();
      await metadata.close();
    }
  };
  const allowed = await agentRun(ratingsTasks[1]!, ratingsRole);
  if (allowed.status !== 0) fail(`the agent of an allowed task exited ${allowed.status}: ${allowed.log}`);
  const perTask = await jwtVerify(readFileSync(allowed.tokenPath, 'utf8'), createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: api, audience: 'istio-ca' });
  console.log(`  agent for ${ratingsTasks[1]!.split('/').pop()}: exit 0, token written to ${allowed.tokenPath} (mode 0400), verified; claims:`);
  console.log(stringify(perTask.payload).replace(/^/gm, '    '));
  const refusedAgent = await agentRun(intruderTask!, intruderRole);
  const refusal = refusedAgent.log.split('\n').map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).find((e) => e.reason);
  console.log(`  agent for the intruder task: exit ${refusedAgent.status}, refused with ${String(refusal?.reason)}: ${String(refusal?.message ?? '')}`);
  if (refusedAgent.status !== 1) fail('the intruder task\'s agent was not refused');

  say('10. One task is stopped: its entry is removed and a tombstone recorded');
  await ecs.send(new StopTaskCommand({ cluster: 'demo', task: ratingsTasks[0]!, reason: 'Scaled down by the demo' }));
  await stack.settle();
  const stopped = await status(ratingsTasks[0]!);
  console.log(`  ${String(stopped.taskId)}: ${String(stopped.phase)} (${String(stopped.detail)})`);
  console.log(`  entries left: ${entries().map((e) => e.file).join(', ')}`);
  if (stopped.phase !== 'deregistered' || entries().length !== 1) fail('the stopped task was not deregistered');

  say(`11. A key rotation in two phases (time compressed: KEY_PREPUBLISH_SECONDS=${PREPUBLISH_SECONDS}, tokens live 60 s)`);
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { cooldownDuration: 0, cacheMaxAge: 0 });
  const publishedKids = async () => ((await (await fetch(discovery.jwks_uri)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const perTaskToken = async (when: string) => {
    const run = await agentRun(ratingsTasks[1]!, ratingsRole);
    if (run.status !== 0) fail(`the agent exited ${run.status} ${when}: ${run.log}`);
    const token = readFileSync(run.tokenPath, 'utf8');
    const { protectedHeader, payload } = await jwtVerify(token, jwks, { issuer: api, audience: 'istio-ca' });
    console.log(`  a per-task token ${when}: signed at ${new Date(payload.iat! * 1000).toISOString()} with ${protectedHeader.kid}, verified through ${discovery.jwks_uri}`);
    return { token, kid: protectedHeader.kid, signedAt: payload.iat! * 1000 };
  };
  const oldKid = (await perTaskToken('before the rotation')).kid;
  await ecsMesh('keys', 'list', '--token-profile', 'istio');
  const rotation = JSON.parse(await ecsMesh('keys', 'rotate', '--token-profile', 'istio', '-o', 'json')) as { pendingKid: string; activatesAt: string }[];
  const { pendingKid, activatesAt } = rotation[0]!;
  // Discovery keeps the keys up to min(KEY_CACHE_SECONDS, 30 s): what the prepublish time absorbs.
  for (let i = 0; i < 20 && !(await publishedKids()).includes(pendingKid); i++) await new Promise((r) => setTimeout(r, 250));
  console.log(`  JWKS now: ${(await publishedKids()).join(', ')} (the pending key is published before it signs)`);
  if (!(await publishedKids()).includes(pendingKid)) fail('the pending key is not in the JWKS');
  await ecsMesh('keys', 'list', '--token-profile', 'istio');
  const during = await perTaskToken('while the new key is pending');
  // iat is in whole seconds: a token whose second ended before the activation must be the old key's.
  if (during.signedAt + 1000 <= Date.parse(activatesAt) && during.kid !== oldKid) fail('a pending key signed a token');
  console.log(`  waiting until ${activatesAt}, when the pending key starts signing...`);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(activatesAt) - Date.now()) + 1500));
  const after = await perTaskToken('once the new key signs');
  if (after.kid !== pendingKid) fail('the new key does not sign after its pending time');
  await jwtVerify(during.token, jwks, { issuer: api, audience: 'istio-ca' });
  console.log(`  the token signed with ${oldKid} still verifies: the old key is retiring, still published`);
  await ecsMesh('keys', 'list', '--token-profile', 'istio');
  const retiring = JSON.parse(await ecsMeshQuiet('keys', 'list', '--token-profile', 'istio', '-o', 'json')) as { kid: string; state: string; retiresAt?: string }[];
  const retiresAt = retiring.find((k) => k.kid === oldKid)?.retiresAt;
  if (!retiresAt) fail('the old key has no retirement time');
  console.log(`  waiting until ${retiresAt}, when every token the old key signed has expired...`);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(retiresAt!) - Date.now()) + 1500));
  const finalKids = await publishedKids();
  console.log(`  JWKS now: ${finalKids.join(', ')} (the old key is retired)`);
  if (finalKids.includes(oldKid!) || !finalKids.includes(pendingKid)) fail('the old key was not retired, or the new one is missing');
  await perTaskToken('after the old key retired');
  console.log('  Kuma reads static PEM keys from its CP config: this is what to paste there (own keys, own kids):');
  await ecsMesh('keys', 'rotate', '--token-profile', 'kuma');
  await ecsMesh('keys', 'export', '--format', 'pem', '--token-profile', 'kuma');

  say('12. The reconciler repairs what events cannot: an entry deleted by hand, a policy narrowed');
  const [survivor] = entries();
  if (!survivor) fail('no entry left to repair');
  rmSync(join(meshDir, 'workloadentries', 'bookinfo', survivor!.file));
  console.log(`  deleted ${meshDir}/workloadentries/bookinfo/${survivor!.file} by hand; no ECS event will ever bring it back`);
  await ecsMesh('reconcile', '--cluster', 'demo', '--dry-run');
  await ecsMesh('reconcile', '--cluster', 'demo');
  if (!entries().some((e) => e.file === survivor!.file)) fail('the reconciler did not put the entry back');
  console.log(`  ${meshDir}/workloadentries/bookinfo/${survivor!.file} is back`);
  const survivorId = ratingsTasks[1]!.split('/').pop()!;
  await ecsMesh('enrollments', 'get', survivorId);
  // Narrowed: only team=payments now. The policy table's stream (npm run local: after each write)
  // re-evaluates the namespace at once; docs/policies.md#when-a-change-takes-effect states the bound (60 s).
  const narrowed = readFileSync('examples/policies/bookinfo.yaml', 'utf8').split('\n---')[0]!.replace('team: [ratings]', 'team: [payments]');
  writeFileSync(join(meshDir, 'narrowed.yaml'), narrowed);
  const writtenAt = Date.now();
  await ecsMesh('policy', 'apply', '-f', join(meshDir, 'narrowed.yaml'));
  for (let i = 0; i < 240 && entries().some((e) => e.file === survivor!.file); i++) await new Promise((r) => setTimeout(r, 250));
  const revokedAfter = (Date.now() - writtenAt) / 1000;
  if (entries().some((e) => e.file === survivor!.file)) fail('the narrowed policy did not remove the task within 60 s');
  console.log(`  the task left the mesh ${revokedAfter.toFixed(1)} s after the policy write (bound: 60 s)`);
  await ecsMesh('enrollments', 'get', survivorId);
  const revoked = JSON.parse(await ecsMeshQuiet('enrollments', 'get', survivorId, '-o', 'json')) as { phase: string; reason: string };
  if (revoked.phase !== 'rejected' || revoked.reason !== 'POLICY_REVOKED') fail(`the revoked task is ${revoked.phase} ${revoked.reason}`);

  say('Listing: GET /v1/enrollments?cluster=demo');
  const list = (await (await operatorGet('/v1/enrollments?cluster=demo')).json()) as { items: Record<string, unknown>[] };
  console.log(stringify(list.items.map((i) => ({ task: i.taskId, phase: i.phase, reason: i.reason }))).replace(/^/gm, '  '));
} finally {
  server?.close();
  await stack.stop();
}
// Steps 14-16 (what istiod serves) run in a process of their own: there the functions write to the
// Kubernetes API double with the istiod model beside it, and the handlers read that once.
// Steps 17-21 (one mesh, two accounts: hub and spoke) likewise, with a member account beside the hub.
// Steps 22-24 (mesh names: Route53 records and Sidecar listeners from a group's declaration) likewise.
for (const part of ['demo-health', 'demo-accounts', 'demo-names']) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${part}.ts`], { stdio: 'inherit' });
  if (run.status !== 0) fail(`scripts/${part}.ts exited ${run.status ?? run.signal}`);
}
console.log('\n\x1b[32mDemo complete.\x1b[0m');
