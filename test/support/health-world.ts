/**
 * The world in which istiod decides whether a task gets traffic, shared by the health e2e test and
 * `npm run demo`: the local stack's functions (in this process) writing to the Kubernetes API
 * double with the istiod model beside it; tasks launched with RunTask and enrolled by task-events;
 * each task's agent run once into the task's volume with the example task definition's
 * environment; and the example's istio-proxy command started on that volume, connected to istiod.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { startCredentialsEndpoint, startTaskMetadataEndpoint, type StandIn } from '../../local/ecs-agent-endpoints.js';
import { startHttpApi } from '../../local/http-api.js';
import { freePort } from '../../local/moto.js';
import { startLocalStack, type RunningLocalStack } from '../../local/stack.js';
import { startAgentProcess, type AgentRunner } from './agent-process.js';
import { exampleContainer } from './example-task-definition.js';
import { startMeshWithIstiod, WRITER_TOKEN, type MeshWithIstiod } from './istiod-model/mesh-with-istiod.js';
import { startIstioProxyCommand, TaskProxyModel } from './istiod-model/task-proxy.js';
import type { KubernetesObject } from './kubernetes/apply-merge.js';

export const ACCOUNT = '123456789012';
export const ISTIOD_ADDRESS = 'istiod.istio-system.svc:15012';
const NAMESPACE = 'bookinfo';

/** A task enrolled by task-events, its agent's volume written. */
export interface WorldTask {
  app: string;
  taskArn: string;
  address: string;
  entryName: string;
  /** The agent's volume (/var/run/secrets/tokens in the task). */
  volume: string;
  /** What the agent printed. */
  agentOutput: string;
}

export interface HealthWorld {
  stack: RunningLocalStack;
  mesh: MeshWithIstiod;
  issuer: string;
  /** Starts a task of `app` (role tagged team=`app`, group bookinfo/`app`), enrolls it and runs its agent once. */
  startTask(app: string): Promise<WorldTask>;
  /** Starts the example's istio-proxy on the task's volume, as a proxy connected to the current istiod. */
  startProxy(task: WorldTask): Promise<TaskProxyModel>;
  stopTask(task: WorldTask): Promise<void>;
  /** Write requests our functions made to the mesh (any but istiod's). */
  ourMeshWrites(): number;
  stop(): Promise<void>;
}

/** An OnboardingPolicy letting roles tagged team=`app` into the groups labelled app=`app`. */
const policyFor = (app: string) => ({
  apiVersion: 'ecsmesh.io/v1alpha1',
  kind: 'OnboardingPolicy',
  metadata: { name: `allow-${app}`, namespace: NAMESPACE },
  spec: { allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { iamRoleTags: { team: [app] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app } } }] }] },
});

/**
 * Starts the world with `manifests` (WorkloadGroups) in the mesh and a policy for each of `apps`.
 * The handlers read their settings from this process's environment, so one world per process.
 */
export async function startHealthWorld(options: { dir: string; manifests: KubernetesObject[]; apps: string[]; agent: AgentRunner; logLevel?: string }): Promise<HealthWorld> {
  const { dir } = options;
  const mesh = await startMeshWithIstiod(options.manifests);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const standIns: StandIn[] = [];
  let stack: RunningLocalStack | undefined;
  let server: Server | undefined;
  try {
    process.env.LOCAL_POLICY_STREAM = 'off';
    stack = await startLocalStack({ meshDir: join(dir, 'mesh'), logLevel: options.logLevel ?? 'ERROR', issuerUrl: issuer, kubernetes: { url: mesh.double.url, token: WRITER_TOKEN } });
    server = await startHttpApi(stack.routes, port);
    const aws = stack.clientSettings;
    const ddb = new DynamoDBClient(aws);
    for (const app of options.apps)
      await ddb.send(new PutItemCommand({ TableName: stack.resources.policyTable, Item: { namespace: { S: NAMESPACE }, name: { S: `allow-${app}` }, revision: { N: '1' }, document: { S: JSON.stringify(policyFor(app)) } } }));
    await new ECSClient(aws).send(new CreateClusterCommand({ clusterName: 'prod' }));
    const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
    const running = stack;
    const world: HealthWorld = {
      stack: running,
      mesh,
      issuer,
      async startTask(app) {
        const role = await new IAMClient(aws).send(new CreateRoleCommand({ RoleName: `${app}-task`, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: `${NAMESPACE}/${app}` }, { Key: 'team', Value: app }] }));
        const ecs = new ECSClient(aws);
        const definition = await ecs.send(new RegisterTaskDefinitionCommand({ family: app, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
        const started = await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: definition.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
        const task = started.tasks![0]!;
        const taskArn = task.taskArn!;
        const address = task.attachments![0]!.details!.find((d) => d.name === 'privateIPv4Address')!.value!;
        await running.settle();
        const entry = mesh.double.objects('WorkloadEntry').find((e) => (e.metadata.annotations as Record<string, string> | undefined)?.['ecsmesh.io/task-arn'] === taskArn);
        if (!entry) throw new Error(`task-events wrote no entry for ${taskArn}`);

        // The agent container: the example's environment, the ECS variables from stand-ins.
        const creds = (await new STSClient(aws).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: taskArn.split('/').pop()! }))).Credentials!;
        const credentials = await startCredentialsEndpoint({ AccessKeyId: creds.AccessKeyId!, SecretAccessKey: creds.SecretAccessKey!, Token: creds.SessionToken!, Expiration: new Date(Date.now() + 3600_000).toISOString() });
        const metadata = await startTaskMetadataEndpoint(taskArn);
        standIns.push(credentials, metadata);
        const volume = join(dir, `volume-${app}`);
        mkdirSync(volume, { recursive: true });
        const example = exampleContainer('agent', { WorkloadGroupNamespace: NAMESPACE, WorkloadGroupName: app, HttpApiUrl: issuer }).Environment as { Name: string; Value: string }[];
        const agent = startAgentProcess(
          {
            ...Object.fromEntries(example.map((e) => [e.Name, e.Value.replaceAll('/var/run/secrets/tokens', volume)])),
            // The example's endpoint is the API's https host; locally it is plain http on a port.
            ONBOARDING_CONFIG: `onboardingEndpoint: { host: 127.0.0.1, port: ${port}, scheme: http }\nworkloadGroup: { namespace: ${NAMESPACE}, name: ${app} }\n`,
            ONBOARDING_SERVER_ID: 'ecs-mesh-onboarding',
            STS_ENDPOINT: aws.endpoint,
            AWS_REGION: aws.region,
            ECS_CONTAINER_METADATA_URI_V4: metadata.url,
            AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials.url,
          },
          ['--once'],
          options.agent,
        );
        const code = await agent.exited;
        if (code !== 0) throw new Error(`the agent exited ${code}:\n${agent.output()}`);
        return { app, taskArn, address, entryName: String(entry.metadata.name), volume, agentOutput: agent.output() };
      },
      async startProxy(task) {
        const container = exampleContainer('istio-proxy', { WorkloadGroupNamespace: NAMESPACE, WorkloadGroupName: task.app, ServiceAccount: `${NAMESPACE}-${task.app}`, IstiodAddress: ISTIOD_ADDRESS, IstiodRootCertBase64: Buffer.from('root-cert').toString('base64') });
        const workDir = join(dir, `proxy-${task.app}`);
        mkdirSync(workDir, { recursive: true });
        const started = await startIstioProxyCommand(container, task.volume, workDir);
        // istiod's JWT_RULE as docs/connect-a-mesh.md gives it.
        const jwtRule = JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks.json`, audiences: ['istio-ca'] });
        return TaskProxyModel.start({ started, volumeDir: task.volume, jwtRule, address: task.address, istiod: mesh.istiod });
      },
      async stopTask(task) {
        await new ECSClient(aws).send(new StopTaskCommand({ cluster: 'prod', task: task.taskArn }));
        await running.settle();
      },
      ourMeshWrites: () => mesh.double.requests.filter((r) => r.method !== 'GET' && !/^pilot-discovery\//.test(r.userAgent ?? '')).length,
      async stop() {
        for (const s of standIns) await s.close();
        server?.close();
        await running.stop();
        await mesh.stop();
      },
    };
    return world;
  } catch (error) {
    server?.close();
    await stack?.stop();
    await mesh.stop();
    throw error;
  }
}

/** The task's app, as its probe sees it: a TCP listener on 127.0.0.1:`port`. */
export function listenLikeAnApp(port: number): Promise<NetServer> {
  return new Promise((resolve) => {
    const app = createServer((socket) => socket.end());
    app.listen(port, '127.0.0.1', () => resolve(app));
  });
}

export function closeApp(app: NetServer): Promise<void> {
  return new Promise((resolve) => app.close(() => resolve()));
}
