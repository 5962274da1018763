import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startLocalProcess, until, type LocalProcess } from '../support/local-process.js';
import { istiodVerdict as istiod } from '../support/third-party-verifier.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';

// istiod's JWT_RULE as the README documents it, parsed and applied as istiod does (PyJWT, not our
// verifier), against tokens minted by `npm run local`. The whole path as an operator runs it: `npm run local` as a process, tasks launched with
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

const README = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md'), 'utf8');

/** The JWT_RULE strings the README's "Connect your mesh" section documents, in order, and its Helm values. */
function documentedJwtRules(): { jwksUri: string; discovery: string; helmValues: string } {
  const section = README.slice(README.indexOf('## Connect your mesh'), README.indexOf('\n## ', README.indexOf('## Connect your mesh') + 3));
  const [jwksUri, discovery] = [...section.matchAll(/^\s*JWT_RULE='([^']+)'$/gm)].map((m) => m[1]!);
  const values = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const helmValues = (parseYaml(values ?? '') as { pilot?: { env?: { JWT_RULE?: string } } } | null)?.pilot?.env?.JWT_RULE;
  if (!jwksUri || !discovery || !helmValues) throw new Error('README: the Connect your mesh section lost its JWT_RULE examples');
  return { jwksUri, discovery, helmValues };
}

interface MintingStack {
  local: LocalProcess;
  issuer: string;
  secretJson(id: string): Promise<Record<string, unknown>>;
}

/** `npm run local` with a policy, groups, and one running task of each group, so service tokens get minted. */
async function startMintingStack(settings: (port: number) => Record<string, string>, groups: readonly string[]): Promise<MintingStack & { meshDir: string }> {
  const meshDir = mkdtempSync(join(tmpdir(), 'verify-mesh-'));
  mkdirSync(join(meshDir, 'workloadgroups'));
  writeFileSync(join(meshDir, 'workloadgroups', 'groups.yaml'), GROUPS);
  const local = await startLocalProcess((port) => ({ MESH_FILE_DIR: meshDir, LOG_LEVEL: 'DEBUG', ...settings(port) }));
  const aws = local.aws;
  const iam = new IAMClient(aws);
  const ecs = new ECSClient(aws);
  const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-all', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] } };
  await new DynamoDBClient(aws).send(new PutItemCommand({ TableName: 'ecs-mesh-policies', Item: { namespace: { S: 'bookinfo' }, name: { S: 'allow-all' }, revision: { N: '1' }, document: { S: JSON.stringify(policy) } } }));
  await ecs.send(new CreateClusterCommand({ clusterName: 'prod' }));
  const subnet = (await new EC2Client(aws).send(new DescribeSubnetsCommand({}))).Subnets![0]!.SubnetId!;
  for (const group of groups) {
    const role = await iam.send(new CreateRoleCommand({ RoleName: `${group}-task`, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'ecsmesh.io/workload-group', Value: `bookinfo/${group}` }] }));
    const def = await ecs.send(new RegisterTaskDefinitionCommand({ family: group, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512', taskRoleArn: role.Role!.Arn!, containerDefinitions: [{ name: 'app', image: 'x', memory: 256 }] }));
    await ecs.send(new RunTaskCommand({ cluster: 'prod', taskDefinition: def.taskDefinition!.taskDefinitionArn!, launchType: 'FARGATE', networkConfiguration: { awsvpcConfiguration: { subnets: [subnet], securityGroups: ['sg-1'] } } }));
  }
  const secretJson = async (id: string) => JSON.parse((await new SecretsManagerClient(aws).send(new GetSecretValueCommand({ SecretId: id }))).SecretString!) as Record<string, unknown>;
  return { local, issuer: local.issuer, meshDir, secretJson };
}

describe('tokens verified by an independent verifier that knows only the issuer URL (RS256; ISSUER_URL given with a trailing slash)', () => {
  let stack: MintingStack & { meshDir: string };
  const output = () => stack.local.output();
  beforeAll(async () => {
    stack = await startMintingStack((port) => ({ ISSUER_URL: `http://127.0.0.1:${port}/` }), ['ratings', 'payments']);
  }, 120_000);
  afterAll(async () => {
    await stack?.local.stop();
    if (stack) rmSync(stack.meshDir, { recursive: true, force: true });
  });

  it('verifies the README\'s JWT_RULE forms as istiod parses and applies them, and refuses what istiod refuses', async () => {
    const { issuer } = stack;
    const ratings = await until('the ratings token secret', () => stack.secretJson('ecs-mesh/bookinfo/ratings'), 30, output);
    const payments = await until('the payments token secret', () => stack.secretJson('ecs-mesh/bookinfo/payments'), 30, output);
    const documented = documentedJwtRules();
    const withIssuer = (rule: string, value = issuer) => rule.replaceAll('<ISSUER_URL>', value);

    for (const rule of [documented.jwksUri, documented.discovery, documented.helmValues])
      expect(istiod(withIssuer(rule), String(ratings.token))).toEqual({ ok: true, identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings' });
    // The form the README used to give: istiod does not start.
    expect(istiod(`[${withIssuer(documented.jwksUri)}]`, String(ratings.token))).toMatchObject({ ok: false, stage: 'unmarshal', error: expect.stringContaining('cannot unmarshal array') });
    // istiod compares the issuer exactly: the one discovery answers, without the trailing slash.
    expect(istiod(withIssuer(documented.discovery, `${issuer}/`), String(ratings.token))).toMatchObject({ ok: false, stage: 'discovery' });
    // A kuma-profile token is no istio identity.
    expect(istiod(withIssuer(documented.jwksUri), String(payments.token))).toMatchObject({ ok: false });
  }, 60_000);
});

describe('ES256 tokens and istiod', () => {
  let stack: MintingStack & { meshDir: string };
  beforeAll(async () => {
    stack = await startMintingStack(() => ({ SIGNING_ALG: 'ES256' }), ['ratings']);
  }, 120_000);
  afterAll(async () => {
    await stack?.local.stop();
    if (stack) rmSync(stack.meshDir, { recursive: true, force: true });
  });

  it('are accepted in the discovery form and refused in the jwks_uri form, as the README says', async () => {
    const ratings = await until('the ratings token secret', () => stack.secretJson('ecs-mesh/bookinfo/ratings'), 30, () => stack.local.output());
    const documented = documentedJwtRules();
    const withIssuer = (rule: string) => rule.replaceAll('<ISSUER_URL>', stack.issuer);

    expect(istiod(withIssuer(documented.discovery), String(ratings.token))).toEqual({ ok: true, identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings' });
    expect(istiod(withIssuer(documented.jwksUri), String(ratings.token))).toMatchObject({ ok: false, stage: 'verify', error: expect.stringContaining('unsupported algorithm') });
  }, 60_000);
});
