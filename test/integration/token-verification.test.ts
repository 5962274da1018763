import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalProcess, until, type LocalProcess } from '../support/local-process.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';

// The whole path as an operator runs it: `npm run local` as a process, tasks launched with
// RunTask, tokens minted by task-events, and a verifier that knows nothing but the issuer URL.
const GROUPS = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: { name: ratings, namespace: bookinfo, labels: { app: ratings } }
spec: { template: { serviceAccount: bookinfo-ratings } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: { name: payments, namespace: bookinfo, labels: { app: payments }, annotations: { ecsmesh.io/token-profile: kuma } }
spec: { template: { serviceAccount: payments } }
`;

let local: LocalProcess;
let issuer = '';
let aws: LocalProcess['aws'];
let meshDir: string;
const output = () => local.output();
const stop = () => local.stop();

const secretJson = async (id: string) =>
  JSON.parse((await new SecretsManagerClient(aws).send(new GetSecretValueCommand({ SecretId: id }))).SecretString!) as Record<string, unknown>;

beforeAll(async () => {
  meshDir = mkdtempSync(join(tmpdir(), 'verify-mesh-'));
  mkdirSync(join(meshDir, 'workloadgroups'));
  writeFileSync(join(meshDir, 'workloadgroups', 'groups.yaml'), GROUPS);
  local = await startLocalProcess({ MESH_FILE_DIR: meshDir, LOG_LEVEL: 'DEBUG' });
  issuer = local.issuer;
  aws = local.aws;

  const iam = new IAMClient(aws);
  const ecs = new ECSClient(aws);
  const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-all', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] } };
  await new DynamoDBClient(aws).send(new PutItemCommand({ TableName: 'ecs-mesh-policies', Item: { namespace: { S: 'bookinfo' }, name: { S: 'allow-all' }, revision: { N: '1' }, document: { S: JSON.stringify(policy) } } }));
  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  for (const group of ['ratings', 'payments']) {
    const role = await iam.send(new CreateRoleCommand({ RoleName: `${group}-task`, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: `bookinfo/${group}` }] }));
    const def = await ecs.send(new RegisterTaskDefinitionCommand({ family: group, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
    await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: def.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  }
}, 120_000);

afterAll(async () => {
  await local?.stop();
  rmSync(meshDir, { recursive: true, force: true });
});

describe('tokens verified by an independent verifier that knows only the issuer URL', () => {
  it('verifies an istio token and a kuma token through the discovered JWKS, and logs no token or key', async () => {
    const ratings = await until('the ratings token secret', () => secretJson('ecs-mesh/bookinfo/ratings'), 30, output);
    const payments = await until('the payments token secret', () => secretJson('ecs-mesh/bookinfo/payments'), 30, output);

    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const istio = await jwtVerify(String(ratings.token), jwks, { issuer, audience: 'istio-ca' });
    const kuma = await jwtVerify(String(payments.token), jwks, { algorithms: ['RS256'] });

    expect(discovery.issuer).toBe(issuer);
    expect(istio.payload).toMatchObject({ sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings', 'ecsmesh.io/mesh': 'default' });
    expect(istio.payload.exp! * 1000).toBeGreaterThan(Date.now());
    expect(istio.protectedHeader.kid).toBe(ratings.kid);
    expect(kuma.protectedHeader).toMatchObject({ alg: 'RS256', kid: payments.kid });
    expect(kuma.payload).toMatchObject({ Name: '', Mesh: 'default', Type: 'dataplane', Tags: { 'kuma.io/service': ['payments'] } });
    expect(payments.profile).toBe('kuma');

    const keys = await secretJson('ecs-mesh/signing-keys');
    const privateParts = (keys.keys as { privateJwk: Record<string, string> }[]).flatMap((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].map((f) => k.privateJwk[f]).filter(Boolean) as string[]);
    expect(await stop()).toBe(0);
    // The capture holds the run's decision logs, so the checks below look at real output.
    expect(output()).toContain('"message":"enrollment recorded"');
    expect(output()).toContain('service token');
    for (const secret of [String(ratings.token), String(payments.token), ...privateParts]) expect(output().includes(secret)).toBe(false);
    // No JWT of any kind (three base64url parts starting with a JSON header) in any log line.
    expect(output()).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  }, 90_000);
});
