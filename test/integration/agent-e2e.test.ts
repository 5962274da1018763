import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startAgentProcess, waitForEvent, type AgentProcess } from '../support/agent-process.js';
import { startCredentialsEndpoint, startTaskMetadataEndpoint, type StandIn } from '../../local/ecs-agent-endpoints.js';
import { startLocalProcess, type LocalProcess } from '../support/local-process.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import { signedFetch } from '../../cli/api/signed-fetch.js';

// The whole exchange as it runs in ECS: the agent process with the ECS environment variables
// pointing at stand-ins for the credentials and metadata endpoints (credentials from moto's
// AssumeRole with the task id as session name, as ECS does), against `npm run local`.
let local: LocalProcess;
let agent: AgentProcess | undefined;
let standIns: StandIn[] = [];
let dir: string;
let taskArn: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-e2e-'));
  mkdirSync(join(dir, 'mesh', 'workloadgroups'), { recursive: true });
  writeFileSync(join(dir, 'mesh', 'workloadgroups', 'ratings.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: { name: ratings, namespace: bookinfo, labels: { app: ratings } }\nspec: { template: { serviceAccount: bookinfo-ratings } }\n');
  // Short tokens so the agent's refresh (at about two thirds of the lifetime) happens in the test.
  local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), ONBOARDING_TOKEN_LIFETIME_SECONDS: '60' });
  const aws = local.aws;
  const role = await new IAMClient(aws).send(new CreateRoleCommand({ RoleName: 'ratings-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: 'bookinfo/ratings' }, { Key: 'team', Value: 'ratings' }] }));
  const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-ratings', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: { iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] } };
  await new DynamoDBClient(aws).send(new PutItemCommand({ TableName: 'ecs-mesh-policies', Item: { namespace: { S: 'bookinfo' }, name: { S: 'allow-ratings' }, revision: { N: '1' }, document: { S: JSON.stringify(policy) } } }));
  const ecs = new ECSClient(aws);
  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  const def = await ecs.send(new RegisterTaskDefinitionCommand({ family: 'ratings', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
  const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  const run = await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: def.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  taskArn = run.tasks![0]!.taskArn!;
  const creds = (await new STSClient(aws).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: taskArn.split('/').pop()! }))).Credentials!;
  standIns = [
    await startCredentialsEndpoint({ AccessKeyId: creds.AccessKeyId!, SecretAccessKey: creds.SecretAccessKey!, Token: creds.SessionToken!, Expiration: new Date(Date.now() + 3600_000).toISOString() }),
    await startTaskMetadataEndpoint(taskArn),
  ];
}, 120_000);

afterAll(async () => {
  agent?.child.kill('SIGTERM');
  await agent?.exited;
  for (const s of standIns) await s.close();
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the agent against the local control plane', () => {
  it('obtains a token for its running task, refreshes it, and the token verifies through the published JWKS', async () => {
    const tokenPath = join(dir, 'token');
    const port = new URL(local.issuer).port;
    agent = startAgentProcess({
      ONBOARDING_CONFIG: `onboardingEndpoint: { host: 127.0.0.1, port: ${port}, scheme: http }\nworkloadGroup: { namespace: bookinfo, name: ratings }\n`,
      ONBOARDING_TOKEN_PATH: tokenPath,
      STS_ENDPOINT: local.aws.endpoint,
      AWS_REGION: 'us-east-1',
      ECS_CONTAINER_METADATA_URI_V4: standIns[1]!.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: standIns[0]!.url,
    });

    await waitForEvent(agent, (e) => e.event === 'token.written', 30_000);
    const first = readFileSync(tokenPath, 'utf8');
    const discovery = (await (await fetch(`${local.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const { payload } = await jwtVerify(first, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: local.issuer, audience: 'istio-ca' });
    expect(payload).toMatchObject({ sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', 'ecsmesh.io/task-arn': taskArn });
    expect(statSync(tokenPath).mode & 0o777).toBe(0o400);
    const status = (await (await signedFetch(`${local.issuer}/v1/enrollments/${taskArn.split('/').pop()}`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR })).json()) as { onboardingToken?: { jti: string } };
    expect(status.onboardingToken?.jti).toBe(payload.jti);

    // A 60 s token is refreshed at about 40 s (two thirds, with jitter).
    await waitForEvent(agent, (e) => e.event === 'token.written' && agent!.events().filter((x) => x.event === 'token.written').length >= 2, 60_000);
    const second = readFileSync(tokenPath, 'utf8');
    expect(second).not.toBe(first);
    await expect(jwtVerify(second, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: local.issuer, audience: 'istio-ca' })).resolves.toBeDefined();
    expect(agent.output()).not.toContain(first);
    expect(local.output()).not.toContain(first);
  }, 120_000);
});
