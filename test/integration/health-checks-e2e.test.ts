/**
 * Health that works (issue 19): a task of the example's probed group becomes an endpoint of its
 * Service once its probe passes, leaves when it fails, and comes back, judged by the istiod model
 * (test/support/istiod-model/) over what our functions and our agent really write:
 *
 * - the local stack's functions, in process, write to the Kubernetes API double (not the file mesh);
 * - the agent bundle (`npm run build:agent`), run as the agent e2e runs it, writes the token and
 *   the proxy's declaration (ONBOARDING_PROXY_CONFIG_DIR) as the example's task definition tells it;
 * - the example's own istio-proxy command runs under /bin/sh on those files; what pilot-agent was
 *   started with goes through the pilot-agent model (metadata, ProxyConfig, health checker), and the
 *   proxy's identity is what istiod's CA would certify for the token under the README's JWT_RULE;
 * - the app is a real TCP listener the probe connects to.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startCredentialsEndpoint, startTaskMetadataEndpoint, type StandIn } from '../../local/ecs-agent-endpoints.js';
import { freePort } from '../../local/moto.js';
import { startHttpApi } from '../../local/http-api.js';
import { startLocalStack, type RunningLocalStack } from '../../local/stack.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { agentBundle, startAgentProcess } from '../support/agent-process.js';
import { exampleIstioManifest } from '../support/example-task-entry.js';
import { exampleContainer } from '../support/example-task-definition.js';
import type { ModelService } from '../support/istiod-model/endpoints.js';
import { startMeshWithIstiod, WRITER_TOKEN, type MeshWithIstiod } from '../support/istiod-model/mesh-with-istiod.js';
import { startIstioProxyCommand, TaskProxyModel } from '../support/istiod-model/task-proxy.js';
import type { KubernetesObject } from '../support/kubernetes/apply-merge.js';

const run = promisify(execFile);
const ISTIOD_ADDRESS = 'istiod.istio-system.svc:15012';

let dir: string;
let bundle: string;
let mesh: MeshWithIstiod;
let stack: RunningLocalStack;
let server: Server;
let issuer: string;
let subnet: string;
let appPort: number;
const standIns: StandIn[] = [];

// The example's group, with its probe pointed at this machine's free port instead of 8080.
const ratingsGroup = () => {
  const group = exampleIstioManifest('workloadgroup.yaml') as KubernetesObject & { spec: { probe: { tcpSocket: { port: number } } } };
  group.spec.probe.tcpSocket.port = appPort;
  return group;
};
const ratingsService = exampleIstioManifest('service.yaml') as ModelService;
// A group without a probe, and its Service.
const reviewsGroup = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'reviews', namespace: 'bookinfo', labels: { app: 'reviews' } }, spec: { metadata: { labels: { app: 'reviews' } }, template: { serviceAccount: 'bookinfo-reviews', ports: { http: 9080 } } } } as KubernetesObject;
const reviewsService: ModelService = { metadata: { name: 'reviews', namespace: 'bookinfo' }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] } } as ModelService;

const policy = (app: string) => ({ apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: `allow-${app}`, namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: { iamRoleTags: { team: [app] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app } } }] }] } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'health-e2e-'));
  bundle = join(dir, 'bundle', 'ecs-mesh-agent.mjs');
  const building = run(process.execPath, ['scripts/build-agent.mjs', '--outfile', bundle]);
  appPort = await freePort();
  mesh = await startMeshWithIstiod([ratingsGroup(), reviewsGroup]);
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  process.env.LOCAL_POLICY_STREAM = 'off';
  stack = await startLocalStack({ meshDir: join(dir, 'mesh'), logLevel: 'ERROR', issuerUrl: issuer, kubernetes: { url: mesh.double.url, token: WRITER_TOKEN } });
  server = await startHttpApi(stack.routes, port);
  const ddb = new DynamoDBClient(stack.clientSettings);
  for (const app of ['ratings', 'reviews'])
    await ddb.send(new PutItemCommand({ TableName: stack.resources.policyTable, Item: { namespace: { S: 'bookinfo' }, name: { S: `allow-${app}` }, revision: { N: '1' }, document: { S: JSON.stringify(policy(app)) } } }));
  await new ECSClient(stack.clientSettings).send(new CreateClusterCommand({ clusterName: 'prod' }));
  subnet = (await new EC2Client(stack.clientSettings).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  await building;
}, 120_000);

afterAll(async () => {
  for (const s of standIns) await s.close();
  server?.close();
  await stack?.stop();
  await mesh?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A running task of `app`'s service, enrolled by task-events; its agent bundle run once into the task's volume. */
async function startTask(app: 'ratings' | 'reviews'): Promise<{ taskArn: string; volume: string; address: string; entryName: string }> {
  const aws = stack.clientSettings;
  const role = await new IAMClient(aws).send(new CreateRoleCommand({ RoleName: `${app}-task`, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: `bookinfo/${app}` }, { Key: 'team', Value: app }] }));
  const ecs = new ECSClient(aws);
  const definition = await ecs.send(new RegisterTaskDefinitionCommand({ family: app, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
  const started = await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: definition.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  const task = started.tasks![0]!;
  const taskArn = task.taskArn!;
  const address = task.attachments![0]!.details!.find((d) => d.name === 'privateIPv4Address')!.value!;
  await stack.settle();
  const entry = mesh.double.objects('WorkloadEntry').find((e) => (e.metadata.annotations as Record<string, string> | undefined)?.['ecsmesh.io/task-arn'] === taskArn);
  if (!entry) throw new Error(`task-events wrote no entry for ${taskArn}`);

  // The agent container: the example's environment, the ECS variables from stand-ins, the bundle.
  const creds = (await new STSClient(aws).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: taskArn.split('/').pop()! }))).Credentials!;
  const credentials = await startCredentialsEndpoint({ AccessKeyId: creds.AccessKeyId!, SecretAccessKey: creds.SecretAccessKey!, Token: creds.SessionToken!, Expiration: new Date(Date.now() + 3600_000).toISOString() });
  const metadata = await startTaskMetadataEndpoint(taskArn);
  standIns.push(credentials, metadata);
  const volume = join(dir, `volume-${app}`);
  mkdirSync(volume);
  const example = exampleContainer('agent', { WorkloadGroupNamespace: 'bookinfo', WorkloadGroupName: app, HttpApiUrl: issuer }).Environment as { Name: string; Value: string }[];
  const exampleEnv = Object.fromEntries(example.map((e) => [e.Name, e.Value.replaceAll('/var/run/secrets/tokens', volume)]));
  const agent = startAgentProcess(
    {
      ...exampleEnv,
      // The example's endpoint is the API's https host; locally it is plain http on a port.
      ONBOARDING_CONFIG: `onboardingEndpoint: { host: 127.0.0.1, port: ${new URL(issuer).port}, scheme: http }\nworkloadGroup: { namespace: bookinfo, name: ${app} }\n`,
      ONBOARDING_SERVER_ID: 'ecs-mesh-onboarding',
      STS_ENDPOINT: aws.endpoint,
      AWS_REGION: 'us-east-1',
      ECS_CONTAINER_METADATA_URI_V4: metadata.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials.url,
    },
    ['--once'],
    agentBundle(bundle, dir),
  );
  expect(await agent.exited, agent.output()).toBe(0);
  return { taskArn, volume, address, entryName: entry.metadata.name as string };
}

/** The example's istio-proxy container started on the task's volume, as a proxy model connected to istiod. */
async function startProxy(app: 'ratings' | 'reviews', volume: string, address: string): Promise<TaskProxyModel> {
  const container = exampleContainer('istio-proxy', { WorkloadGroupNamespace: 'bookinfo', WorkloadGroupName: app, ServiceAccount: `bookinfo-${app}`, IstiodAddress: ISTIOD_ADDRESS, IstiodRootCertBase64: Buffer.from('root-cert').toString('base64') });
  const workDir = join(dir, `proxy-${app}`);
  mkdirSync(workDir, { recursive: true });
  const started = await startIstioProxyCommand(container, volume, workDir);
  const jwtRule = JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks.json`, audiences: ['istio-ca'] });
  return TaskProxyModel.start({ started, volumeDir: volume, jwtRule, address, istiod: mesh.istiod });
}

const listen = (port: number) =>
  new Promise<NetServer>((resolve) => {
    const app = createServer((socket) => socket.end());
    app.listen(port, '127.0.0.1', () => resolve(app));
  });
const close = (app: NetServer) => new Promise<void>((resolve) => app.close(() => resolve()));

describe('a task of a probed group is served by istiod exactly while its probe passes', () => {
  it('joins once the probe passes, leaves when it fails, comes back, and a reconcile pass writes nothing meanwhile', async () => {
    const t0 = new Date();
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
    const { taskArn, volume, address, entryName } = await startTask('ratings');
    const endpoint = `${address}:9080`;
    // The entry is health-checked: not served before any proxy reports.
    expect(mesh.served(ratingsService)).toEqual([]);

    // What the agent wrote, as istio-proxy's shell and pilot-agent read it.
    const proxy = await startProxy('ratings', volume, address);
    expect(proxy.metadata).toMatchObject({ workloadEntry: entryName, namespace: 'bookinfo' });
    expect(proxy.proxyConfig).toMatchObject({ discoveryAddress: ISTIOD_ADDRESS, interceptionMode: 'NONE', readinessProbe: ratingsGroup().spec.probe });
    expect(proxy.identity).toEqual({ namespace: 'bookinfo', serviceAccount: 'bookinfo-ratings' });
    expect(readFileSync(join(volume, 'workload-entry.env'), 'utf8')).toContain(`ISTIO_META_WORKLOAD_ENTRY=${entryName}\n`);

    await proxy.connect(at(1));
    // The app is not listening yet: the first probe fails, istiod records Healthy=False.
    await proxy.probe(at(2));
    expect(mesh.served(ratingsService)).toEqual([]);
    const app = await listen(appPort);
    await proxy.probe(at(7));
    expect(mesh.served(ratingsService)).toEqual([endpoint]);

    // Our reconciler over the converged mesh: istiod's annotations and condition are not drift.
    const writesBefore = ourWrites();
    await stack.reconcileNow();
    expect(ourWrites()).toBe(writesBefore);
    expect(mesh.served(ratingsService)).toEqual([endpoint]);

    await close(app);
    await proxy.probe(at(12));
    expect(mesh.served(ratingsService)).toEqual([]);
    const again = await listen(appPort);
    await proxy.probe(at(17));
    expect(mesh.served(ratingsService)).toEqual([endpoint]);

    // A disconnect keeps the last condition until istiod's grace period has passed, then removes it.
    await proxy.disconnect(at(20));
    expect(mesh.served(ratingsService)).toEqual([endpoint]);
    await mesh.istiod.runDueCleanups(at(20 + 11));
    expect(mesh.served(ratingsService)).toEqual([]);
    // Reconnected (to a restarted istiod): served again after its next passing probe.
    mesh.restartIstiod('istiod-5f7c9d8b6-z8k1p');
    const restarted = await startProxy('ratings', volume, address);
    await restarted.connect(at(40));
    await restarted.probe(at(41));
    expect(mesh.served(ratingsService)).toEqual([endpoint]);

    // The task stops: drained, its entry removed, no longer served.
    await new ECSClient(stack.clientSettings).send(new StopTaskCommand({ cluster: 'prod', task: taskArn }));
    await stack.settle();
    expect(mesh.served(ratingsService)).toEqual([]);
    await close(again);
  }, 120_000);

  it('a group without a probe: no health annotation, no probe for istio-agent, served at once, and istiod writes nothing', async () => {
    const { volume, address, entryName } = await startTask('reviews');
    const entry = mesh.double.objects('WorkloadEntry').find((e) => e.metadata.name === entryName)!;
    expect(Object.keys(entry.metadata.annotations ?? {}).filter((k) => k.startsWith('proxy.istio.io/'))).toEqual([]);
    expect(mesh.served(reviewsService)).toEqual([`${address}:9080`]);

    const proxy = await startProxy('reviews', volume, address);
    expect(proxy.metadata.workloadEntry).toBe(entryName);
    expect(proxy.probes).toBe(false);
    const version = entry.metadata.resourceVersion;
    await proxy.connect(new Date());
    expect(mesh.double.objects('WorkloadEntry').find((e) => e.metadata.name === entryName)!.metadata.resourceVersion).toBe(version);
    expect(mesh.served(reviewsService)).toEqual([`${address}:9080`]);
  }, 120_000);
});

/** Write requests our functions made to the double (any but istiod's). */
function ourWrites(): number {
  return mesh.double.requests.filter((r) => r.method !== 'GET' && !/pilot-discovery/.test(r.userAgent ?? '')).length;
}
