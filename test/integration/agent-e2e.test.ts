import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AGENT_SOURCES, agentBundle, startAgentProcess, waitForEvent, type AgentProcess, type AgentRunner } from '../support/agent-process.js';
import { startCredentialsEndpoint, startTaskMetadataEndpoint, type StandIn } from '../../local/ecs-agent-endpoints.js';
import { startLocalProcess, type LocalProcess } from '../support/local-process.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import { signedFetch } from '../../cli/api/signed-fetch.js';
import { TEST_TLS_CERT } from '../support/agent-tls-fixture.js';

// The whole exchange as it runs in ECS: the agent process with the ECS environment variables
// pointing at stand-ins for the credentials and metadata endpoints (credentials from moto's
// AssumeRole with the task id as session name, as ECS does), against `npm run local`. It runs
// twice at once, each for a task of its own: from the sources, and as the bundle the image ships
// (`npm run build:agent`), run from a directory with no node_modules anywhere above it. A third
// task is set up the way a TSB user has it: a TSB OnboardingPolicy applied with `ecs-mesh policy
// apply`, and the bundle given a TSB agent container's environment.
const run = promisify(execFile);
let local: LocalProcess;
const agents: AgentProcess[] = [];
const standIns: StandIn[] = [];
let dir: string;
let bundle: string;
let subnet: string;
type Service = 'ratings' | 'tsb';
const services = new Map<Service, { roleArn: string; taskDefinitionArn: string }>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-e2e-'));
  mkdirSync(join(dir, 'mesh', 'workloadgroups'), { recursive: true });
  writeFileSync(join(dir, 'mesh', 'workloadgroups', 'ratings.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: { name: ratings, namespace: bookinfo, labels: { app: ratings } }\nspec: { template: { serviceAccount: bookinfo-ratings } }\n');
  writeFileSync(join(dir, 'mesh', 'workloadgroups', 'tsb-ratings.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: { name: ratings, namespace: tsb-bookinfo, labels: { app: ratings } }\nspec: { metadata: { labels: { app: ratings, version: v1 } }, template: { serviceAccount: ratings } }\n');
  bundle = join(dir, 'bundle', 'ecs-mesh-agent.mjs');
  // The build script itself, as `npm run build:agent` runs it, into the temp dir rather than dist/.
  const building = run(process.execPath, ['scripts/build-agent.mjs', '--outfile', bundle, '--metafile', join(dir, 'agent.meta.json')]);
  // Short tokens so the agent's refresh (at about two thirds of the lifetime) happens in the test.
  local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), ONBOARDING_TOKEN_LIFETIME_SECONDS: '60' });
  await building;
  const aws = local.aws;
  const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-ratings', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: { iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] } };
  await new DynamoDBClient(aws).send(new PutItemCommand({ TableName: 'ecs-mesh-policies', Item: { namespace: { S: 'bookinfo' }, name: { S: 'allow-ratings' }, revision: { N: '1' }, document: { S: JSON.stringify(policy) } } }));
  const ecs = new ECSClient(aws);
  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  for (const [key, roleName, group] of [['ratings', 'ratings-task', 'bookinfo/ratings'], ['tsb', 'tsb-ratings-task', 'tsb-bookinfo/ratings']] as const) {
    const role = await new IAMClient(aws).send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: group }, { Key: 'team', Value: 'ratings' }] }));
    const def = await ecs.send(new RegisterTaskDefinitionCommand({ family: roleName, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
    services.set(key, { roleArn: role.Role!.Arn!, taskDefinitionArn: def.taskDefinition!.taskDefinitionArn! });
  }
  subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
}, 120_000);

afterAll(async () => {
  for (const agent of agents) agent.child.kill('SIGTERM');
  await Promise.all(agents.map((a) => a.exited));
  for (const s of standIns) await s.close();
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A running task of the ratings service, and the ECS environment its agent container would get. */
async function startTask(service: Service = 'ratings'): Promise<{ taskArn: string; ecsEnv: Record<string, string> }> {
  const { roleArn, taskDefinitionArn } = services.get(service)!;
  const ecs = new ECSClient(local.aws);
  const started = await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: taskDefinitionArn, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  const taskArn = started.tasks![0]!.taskArn!;
  const creds = (await new STSClient(local.aws).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: taskArn.split('/').pop()! }))).Credentials!;
  const [credentials, metadata] = [
    await startCredentialsEndpoint({ AccessKeyId: creds.AccessKeyId!, SecretAccessKey: creds.SecretAccessKey!, Token: creds.SessionToken!, Expiration: new Date(Date.now() + 3600_000).toISOString() }),
    await startTaskMetadataEndpoint(taskArn),
  ];
  standIns.push(credentials, metadata);
  return { taskArn, ecsEnv: { AWS_REGION: 'us-east-1', ECS_CONTAINER_METADATA_URI_V4: metadata.url, AWS_CONTAINER_CREDENTIALS_FULL_URI: credentials.url } };
}

/** The `ecs-mesh` CLI as an operator runs it, against the local stack with its credentials. */
async function ecsMesh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', ECS_MESH_API_URL: local.issuer, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
  return run(process.execPath, ['--import', 'tsx', 'cli/ecs-mesh.ts', ...args], { env, timeout: 30_000 }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** The enrollment record of a task, through the enrollments API. */
async function enrollment(taskArn: string): Promise<{ phase?: string; onboardingToken?: { jti: string } }> {
  const answer = await signedFetch(`${local.issuer}/v1/enrollments/${taskArn.split('/').pop()}`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
  return (await answer.json()) as { phase?: string; onboardingToken?: { jti: string } };
}

/** `ecs-mesh-agent --healthcheck`, as the container HEALTHCHECK runs it: its exit code and line. */
async function healthcheck(runner: AgentRunner, tokenPath: string): Promise<{ code: number; out: string }> {
  const result = await run(process.execPath, [...runner.argv, '--healthcheck'], { env: { PATH: process.env.PATH ?? '', ONBOARDING_TOKEN_PATH: tokenPath }, ...(runner.cwd ? { cwd: runner.cwd } : {}) }).then(
    (ok) => ({ code: 0, out: ok.stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
  );
  return result;
}

describe('the agent bundle', () => {
  it('imports nothing but Node builtins', () => {
    const metafile = JSON.parse(readFileSync(join(dir, 'agent.meta.json'), 'utf8')) as { outputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
    const builtins = new Set(builtinModules);

    const imports = Object.values(metafile.outputs).flatMap((o) => o.imports);
    const foreign = imports.filter((i) => !builtins.has(i.path.replace(/^node:/, '')));

    expect(imports.length).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
    expect(imports.every((i) => i.external)).toBe(true);
  });
});

describe('the agent against the local control plane', () => {
  it.concurrent.each([
    { variant: 'sources', runner: () => AGENT_SOURCES },
    { variant: 'bundle', runner: () => agentBundle(bundle, dir) },
  ])('($variant) obtains a token for its running task, refreshes it, is healthy meanwhile, and the token verifies through the published JWKS', async ({ variant, runner }) => {
    const { taskArn, ecsEnv } = await startTask();
    const tokenPath = join(dir, `token-${variant}`);
    const port = new URL(local.issuer).port;
    expect(await healthcheck(runner(), tokenPath)).toMatchObject({ code: 1, out: expect.stringContaining(`unhealthy: no token at ${tokenPath}`) });
    const agent = startAgentProcess(
      {
        ONBOARDING_CONFIG: `onboardingEndpoint: { host: 127.0.0.1, port: ${port}, scheme: http }\nworkloadGroup: { namespace: bookinfo, name: ratings }\n`,
        ONBOARDING_TOKEN_PATH: tokenPath,
        STS_ENDPOINT: local.aws.endpoint,
        ...ecsEnv,
      },
      [],
      runner(),
    );
    agents.push(agent);

    await waitForEvent(agent, (e) => e.event === 'token.written', 30_000);
    const first = readFileSync(tokenPath, 'utf8');
    const discovery = (await (await fetch(`${local.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const { payload } = await jwtVerify(first, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: local.issuer, audience: 'istio-ca' });
    expect(payload).toMatchObject({ sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', 'ecsmesh.io/task-arn': taskArn });
    expect(statSync(tokenPath).mode & 0o777).toBe(0o400);
    expect((await enrollment(taskArn)).onboardingToken?.jti).toBe(payload.jti);
    expect(await healthcheck(runner(), tokenPath)).toMatchObject({ code: 0, out: `healthy: token valid until ${new Date(payload.exp! * 1000).toISOString()}\n` });

    // A 60 s token is refreshed at about 40 s (two thirds, with jitter).
    await waitForEvent(agent, (e) => e.event === 'token.written' && agent.events().filter((x) => x.event === 'token.written').length >= 2, 60_000);
    const second = readFileSync(tokenPath, 'utf8');
    expect(second).not.toBe(first);
    await expect(jwtVerify(second, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: local.issuer, audience: 'istio-ca' })).resolves.toBeDefined();
    expect(agent.output()).not.toContain(first);
    expect(local.output()).not.toContain(first);
  }, 120_000);

  it.concurrent('(TSB task definition) enrolls through a TSB policy applied with ecs-mesh, and the bundle takes a TSB agent container as it is', async () => {
    const applied = await ecsMesh('policy', 'apply', '-f', 'test/fixtures/tsb-onboarding-policy.yaml');
    expect(applied.code, applied.stderr).toBe(0);
    const { taskArn, ecsEnv } = await startTask('tsb');
    const tokenPath = join(dir, 'token-tsb');
    const port = new URL(local.issuer).port;
    // TSB's container: the configuration as JSON, the root certs as PEM, TSB settings we ignore,
    // no ONBOARDING_SERVER_ID (the local stack's audience is the agent's default), user 0 when
    // the test runs as root. Only the endpoint differs: plain http to the local stack.
    const tsbConfig = {
      apiVersion: 'config.agent.onboarding.tetrate.io/v1alpha1',
      kind: 'OnboardingConfiguration',
      onboardingEndpoint: { host: '127.0.0.1', port: Number(port), scheme: 'http' },
      workloadGroup: { namespace: 'tsb-bookinfo', name: 'ratings' },
      workload: { labels: { version: 'v1' } },
      settings: { connectedOver: 'INTERNET' },
    };
    const agent = startAgentProcess({ ONBOARDING_CONFIG: JSON.stringify(tsbConfig), ONBOARDING_AGENT_ROOT_CERTS: TEST_TLS_CERT, ONBOARDING_TOKEN_PATH: tokenPath, STS_ENDPOINT: local.aws.endpoint, ...ecsEnv }, [], agentBundle(bundle, dir));
    agents.push(agent);

    await waitForEvent(agent, (e) => e.event === 'token.written', 30_000);
    const token = readFileSync(tokenPath, 'utf8');
    const discovery = (await (await fetch(`${local.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: local.issuer, audience: 'istio-ca' });
    expect(payload).toMatchObject({ sub: 'system:serviceaccount:tsb-bookinfo:ratings', 'ecsmesh.io/task-arn': taskArn, 'ecsmesh.io/workload-group': 'tsb-bookinfo/ratings' });
    expect(agent.events().filter((e) => e.event === 'config.ignored').map((e) => e.message)).toEqual(['settings: a TSB setting this agent does not use; ignored']);
    // As root (TSB's user 0) the token goes to the proxy's user, still 0400.
    const owner = statSync(tokenPath);
    expect({ uid: owner.uid, mode: owner.mode & 0o777 }).toEqual({ uid: process.getuid?.() === 0 ? 1337 : process.getuid?.(), mode: 0o400 });
    expect((await enrollment(taskArn)).onboardingToken?.jti).toBe(payload.jti);
    const explained = await ecsMesh('explain', '--task-arn', taskArn, '-o', 'json');
    expect(JSON.parse(explained.stdout)).toMatchObject({ allowed: true, policy: 'allow-ratings-ecs-tasks', rule: 0 });
  }, 120_000);
});
