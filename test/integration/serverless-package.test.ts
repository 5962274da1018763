// Packages the service with the real osls + serverless-esbuild and lints it with the pinned cfn-lint
// (scripts/package.mjs, what `npm run package` runs), then checks the CloudFormation it produced.
// No AWS is involved: packaging must work offline and without credentials.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE_TIMEOUT = 240_000;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Template {
  Parameters: Record<string, { Default?: string }>;
  Conditions: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties: Json; DependsOn?: Json; DeletionPolicy?: string }>;
  Outputs: Record<string, { Value: Json }>;
}
interface Packaged {
  code: number;
  output: string;
  dir: string;
  template: Template;
}

async function packageService(extraArgs: string[] = []): Promise<Packaged> {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-mesh-package-'));
  // Prove that no credentials (and no local AWS endpoint) are needed.
  const env = { ...process.env };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL']) delete env[name];
  let code = 0;
  let output = '';
  try {
    const result = await promisify(execFile)(process.execPath, ['scripts/package.mjs', '--stage', 'ci', '--region', 'us-east-1', '--package', dir, ...extraArgs], {
      cwd: root,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    output = result.stdout + result.stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    code = typeof e.code === 'number' ? e.code : 1;
    output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  let template = {} as Template;
  try {
    template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  } catch {
    // reported by the exit-code assertion
  }
  return { code, output, dir, template };
}

/** Evaluates the intrinsic functions this template uses, for given parameter values and conditions. */
function evaluate(node: Json, t: Template, params: Record<string, string>): Json {
  const ev = (n: Json): Json => evaluate(n, t, params);
  if (Array.isArray(node)) return node.map(ev).filter((n) => n !== NO_VALUE);
  if (node === null || typeof node !== 'object') return node;
  const [key] = Object.keys(node);
  const arg = node[key!];
  switch (key) {
    case 'Ref':
      if (arg === 'AWS::NoValue') return NO_VALUE;
      if (arg in PSEUDO) return PSEUDO[arg];
      if (arg in params) return params[arg];
      if (t.Parameters[arg]) return t.Parameters[arg].Default ?? '';
      return `ref:${arg}`;
    case 'Fn::GetAtt':
      return `getatt:${arg.join('.')}`;
    case 'Fn::Join':
      return (ev(arg[1]) as string[]).join(arg[0]);
    case 'Fn::Split':
      return (ev(arg[1]) as string).split(arg[0]);
    case 'Fn::Select':
      return ev(arg[1])[arg[0]];
    case 'Fn::Equals':
      return ev(arg[0]) === ev(arg[1]);
    case 'Fn::Not':
      return !ev(arg[0]);
    case 'Fn::If':
      return ev(t.Conditions[arg[0]]) ? ev(arg[1]) : ev(arg[2]);
    case 'Fn::Sub':
      return (arg as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => String(ev({ Ref: name })));
    default:
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, ev(v)]).filter(([, v]) => v !== NO_VALUE));
  }
}
const NO_VALUE = Symbol('AWS::NoValue');
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '111122223333' };

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** Every statement of every role policy, with each Fn::If branch (but AWS::NoValue) kept. */
function roleStatements(t: Template, roleId: string): Json[] {
  const expand = (s: Json): Json[] => (s && s['Fn::If'] ? [s['Fn::If'][1], s['Fn::If'][2]].flatMap(expand) : s?.Ref === 'AWS::NoValue' ? [] : [s]);
  return (t.Resources[roleId]!.Properties.Policies as Json[]).flatMap((p) => (p.PolicyDocument.Statement as Json[]).flatMap(expand));
}
const actionsOn = (statements: Json[], resource: Json) =>
  statements.filter((s) => asArray(s.Resource).some((r: Json) => JSON.stringify(r) === JSON.stringify(resource))).flatMap((s) => asArray(s.Action as string));

describe('serverless package (osls + esbuild + cfn-lint)', () => {
  let pkg: Packaged;
  let t: Template;
  beforeAll(async () => {
    pkg = await packageService();
    t = pkg.template;
  }, PACKAGE_TIMEOUT);
  afterAll(() => rmSync(pkg.dir, { recursive: true, force: true }));

  it('packages, passes cfn-lint with no error and reports the bundle sizes', () => {
    expect(pkg.code, pkg.output).toBe(0);
    expect(pkg.output).toContain('cfn-lint: no errors');
    expect(pkg.output).toMatch(/taskEvents\s+\d+ KB zipped/);
    expect(pkg.output).toMatch(/enrollments\s+\d+ KB zipped/);
    // ESM bundles (.mjs): the Lambda runtime resolves handler "functions/task-events/handler.handler" to it.
    expect(readFileSync(join(pkg.dir, 'taskEvents.zip')).includes('functions/task-events/handler.mjs')).toBe(true);
    expect(readFileSync(join(pkg.dir, 'enrollments.zip')).includes('functions/enrollments/handler.mjs')).toBe(true);
  });

  it('routes ECS Task State Change events to the queue through an EventBridge rule', () => {
    const ruleId = 'TaskStateChangeRule';
    const rule = t.Resources[ruleId]!;
    expect(evaluate(rule.Properties.EventPattern, t, { EcsClusters: '' })).toEqual({ source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] });
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['TaskEventsQueue', 'Arn'] });
    expect(rule.Properties.State).toBe('ENABLED');

    // Only this rule may send to the queue.
    const [[, policy]] = ofType(t, 'AWS::SQS::QueuePolicy') as [[string, Json]];
    expect(policy.Properties.Queues).toEqual([{ Ref: 'TaskEventsQueue' }]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['TaskEventsQueue', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
      }),
    ]);
  });

  it('narrows the rule and ecs:DescribeTasks to the clusters listed in ecsClusters', () => {
    const rule = t.Resources.TaskStateChangeRule!;
    const pattern = JSON.parse(evaluate(rule.Properties.EventPattern, t, { EcsClusters: 'prod,staging' }) as string);
    expect(pattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      account: ['111122223333'],
      region: ['us-east-1'],
      detail: { clusterArn: [{ suffix: ':cluster/prod' }, { suffix: ':cluster/staging' }] },
    });
    const describeTasks = (clusters: string) =>
      evaluate(t.Resources.TaskEventsRole!.Properties.Policies, t, { EcsClusters: clusters })[0].PolicyDocument.Statement.find((s: Json) => s.Action === 'ecs:DescribeTasks');
    expect(describeTasks('prod,staging')).toMatchObject({
      Resource: 'arn:aws:ecs:us-east-1:111122223333:task/*',
      Condition: { ArnLike: { 'ecs:cluster': ['arn:*:ecs:*:*:cluster/prod', 'arn:*:ecs:*:*:cluster/staging'] } },
    });
    expect(describeTasks('')).not.toHaveProperty('Condition');
  });

  it('sends a message to the dead-letter queue after 5 receives', () => {
    const queue = t.Resources.TaskEventsQueue!.Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': ['TaskEventsDeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * t.Resources.TaskEventsLambdaFunction!.Properties.Timeout);
    expect(queue.SqsManagedSseEnabled).toBe(true);
    const dlq = t.Resources.TaskEventsDeadLetterQueue!.Properties;
    expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(t.Resources.TaskEventsLambdaFunction!.Properties.Environment.Variables.DEAD_LETTER_QUEUE_URL).toEqual({ Ref: 'TaskEventsDeadLetterQueue' });
  });

  it('consumes the queue in batches, reporting failed items individually', () => {
    const mappings = ofType(t, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const [[, mapping]] = mappings as [[string, Json]];
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['TaskEventsQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['TaskEventsLambdaFunction', 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('keeps policies and enrollments in DynamoDB, enrollments expiring on expiresAt', () => {
    const enrollments = t.Resources.EnrollmentTable!.Properties;
    expect(enrollments.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(enrollments.KeySchema).toEqual([{ AttributeName: 'taskId', KeyType: 'HASH' }]);
    const policies = t.Resources.PolicyTable!.Properties;
    expect(policies.KeySchema).toEqual([
      { AttributeName: 'namespace', KeyType: 'HASH' },
      { AttributeName: 'name', KeyType: 'RANGE' },
    ]);
    for (const table of [enrollments, policies]) {
      expect(table.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    }
  });

  it('serves the operator routes behind IAM (SigV4) authorization, and only discovery and the auth exchange in public', () => {
    const routes = ofType(t, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const byAuth = (iam: boolean) => routes.filter((r) => (r.AuthorizationType === 'AWS_IAM') === iam).map((r) => r.RouteKey).sort();
    expect(byAuth(true)).toEqual([
      'DELETE /v1/namespaces/{namespace}/policies/{name}',
      'GET /v1/enrollments',
      'GET /v1/enrollments/{taskId}',
      'GET /v1/namespaces/{namespace}/policies',
      'GET /v1/namespaces/{namespace}/policies/{name}',
      'GET /v1/namespaces/{namespace}/policies/{name}/history',
      'POST /v1/explain',
      'POST /v1/keys/rotate',
      'PUT /v1/namespaces/{namespace}/policies/{name}',
    ]);
    expect(byAuth(false)).toEqual(['GET /.well-known/jwks.json', 'GET /.well-known/openid-configuration', 'POST /v1/auth/exchange']);
  });

  it('runs key rotation and token maintenance on schedules', () => {
    const schedules = ofType(t, 'AWS::Events::Rule')
      .filter(([, r]) => r.Properties.ScheduleExpression)
      .map(([, r]) => [r.Properties.ScheduleExpression, r.Properties.Targets[0].Arn['Fn::GetAtt'][0]]);
    expect(schedules.sort()).toEqual([
      ['rate(1 hour)', 'TokenMaintenanceLambdaFunction'],
      ['rate(30 days)', 'KeysLambdaFunction'],
    ]);
  });

  it('limits every secret grant to the token prefix, and discovery to reading the public keys', () => {
    const prefix = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:ecs-mesh/';
    const secretGrants = (id: string) =>
      (evaluate(t.Resources[id]!.Properties.Policies, t, { TokenSecretPrefix: 'ecs-mesh' })[0].PolicyDocument.Statement as Json[]).filter((st) =>
        asArray(st.Action as string).some((a) => a.startsWith('secretsmanager:') && a !== 'secretsmanager:ListSecrets'),
      );
    for (const id of ['TaskEventsRole', 'DiscoveryRole', 'KeysRole', 'TokenMaintenanceRole', 'AuthRole', 'ExplainRole'])
      for (const grant of secretGrants(id))
        for (const resource of asArray(grant.Resource as string)) expect(resource.startsWith(prefix), `${id}: ${resource}`).toBe(true);
    // Discovery serves the JWKS without being able to read a private key.
    expect(secretGrants('DiscoveryRole')).toEqual([expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: `${prefix}jwks-??????` })]);
  });

  it('runs both functions on nodejs22.x arm64 with the configuration shared/config.ts reads', () => {
    for (const id of ['TaskEventsLambdaFunction', 'EnrollmentsLambdaFunction']) {
      const fn = t.Resources[id]!.Properties;
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      const env = evaluate(fn.Environment.Variables, t, {});
      expect(env).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POLICY_TABLE: 'ref:PolicyTable',
        ENROLLMENT_TABLE: 'ref:EnrollmentTable',
        MESH_API: 'kubernetes',
        TOMBSTONE_TTL_SECONDS: '86400',
        LOG_LEVEL: 'INFO',
      });
      // Optional settings left empty are absent, not empty strings.
      expect(env).not.toHaveProperty('MESH_K8S_URL');
      expect(env).not.toHaveProperty('CROSS_ACCOUNT_ROLE_NAME');
    }
  });

  it('gives each function its own least-privilege role', () => {
    expect(t.Resources).not.toHaveProperty('IamRoleLambdaExecution');
    const taskEventsRole = t.Resources.TaskEventsLambdaFunction!.Properties.Role;
    const enrollmentsRole = t.Resources.EnrollmentsLambdaFunction!.Properties.Role;
    expect(taskEventsRole).toEqual({ 'Fn::GetAtt': ['TaskEventsRole', 'Arn'] });
    expect(enrollmentsRole).toEqual({ 'Fn::GetAtt': ['EnrollmentsRole', 'Arn'] });
    expect(t.Resources.TaskEventsRole!.Type).toBe('AWS::IAM::Role');
    expect(t.Resources.EnrollmentsRole!.Type).toBe('AWS::IAM::Role');

    const taskEvents = roleStatements(t, 'TaskEventsRole');
    const enrollments = roleStatements(t, 'EnrollmentsRole');
    const policyTable = { 'Fn::GetAtt': ['PolicyTable', 'Arn'] };
    const enrollmentTable = { 'Fn::GetAtt': ['EnrollmentTable', 'Arn'] };
    expect(actionsOn(taskEvents, policyTable)).toEqual(['dynamodb:Query']);
    expect(actionsOn(taskEvents, enrollmentTable).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(actionsOn(enrollments, enrollmentTable).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Scan']);
    expect(actionsOn(enrollments, policyTable)).toEqual([]);
    expect(actionsOn(taskEvents, { 'Fn::GetAtt': ['TaskEventsLogGroup', 'Arn'] })).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(actionsOn(enrollments, { 'Fn::GetAtt': ['EnrollmentsLogGroup', 'Arn'] })).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);

    // Conditional grants exist only when their param is set.
    const grantsOf = (params: Record<string, string>) =>
      (evaluate(t.Resources.TaskEventsRole!.Properties.Policies, t, params)[0].PolicyDocument.Statement as Json[]).flatMap((s) => asArray(s.Action as string));
    expect(grantsOf({})).not.toContain('sts:AssumeRole');
    expect(grantsOf({}).filter((a) => a.startsWith('secretsmanager:')).sort()).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:RestoreSecret',
      'secretsmanager:TagResource',
    ]);
    const set = { CrossAccountRoleName: 'mesh-reader', MeshK8sTokenSecretId: 'mesh/token' };
    const statements = evaluate(t.Resources.TaskEventsRole!.Properties.Policies, t, set)[0].PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/mesh-reader' }));
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mesh/token-??????' }),
    );
  });

  it('limits the policies function to the policy and audit tables, the audit trail to append and read', () => {
    const statements = roleStatements(t, 'PoliciesRole');
    const policyTable = { 'Fn::GetAtt': ['PolicyTable', 'Arn'] };
    const auditTable = { 'Fn::GetAtt': ['PolicyAuditTable', 'Arn'] };
    const logGroup = { 'Fn::GetAtt': ['PoliciesLogGroup', 'Arn'] };
    for (const statement of statements)
      for (const resource of asArray(statement.Resource)) expect([policyTable, auditTable, logGroup], JSON.stringify(statement)).toContainEqual(resource);
    expect(actionsOn(statements, policyTable).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(actionsOn(statements, auditTable).sort()).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
    expect(t.Resources.PolicyAuditTable!.Properties.KeySchema).toEqual([
      { AttributeName: 'policy', KeyType: 'HASH' },
      { AttributeName: 'revision', KeyType: 'RANGE' },
    ]);
    expect(t.Resources.PolicyAuditTable!.DeletionPolicy).toBe('Retain');
    // explain reads, never writes, the policies.
    expect(actionsOn(roleStatements(t, 'ExplainRole'), policyTable)).toEqual(['dynamodb:Query']);
  });

  it('grants no wildcard action, and Resource "*" only for actions without resource-level permissions', () => {
    const roles = ofType(t, 'AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual(['AuthRole', 'DiscoveryRole', 'EnrollmentsRole', 'ExplainRole', 'KeysRole', 'PoliciesRole', 'TaskEventsRole', 'TokenMaintenanceRole']);
    for (const [id] of roles) {
      for (const statement of roleStatements(t, id)) {
        expect(statement.Effect).toBe('Allow');
        expect(statement).not.toHaveProperty('NotAction');
        expect(statement).not.toHaveProperty('NotResource');
        for (const action of asArray(statement.Action as string)) expect(action, `${id}: ${action}`).not.toContain('*');
        if (asArray(statement.Resource).includes('*'))
          expect([['ecs:DescribeTaskDefinition'], ['secretsmanager:ListSecrets']], `${id}: ${JSON.stringify(statement)}`).toContainEqual(asArray(statement.Action));
      }
    }
  });

  it('outputs the queue URLs, table names and HTTP API URL', () => {
    expect(Object.keys(t.Outputs)).toEqual(
      expect.arrayContaining(['TaskEventsQueueUrl', 'TaskEventsDeadLetterQueueUrl', 'PolicyTableName', 'PolicyAuditTableName', 'EnrollmentTableName', 'HttpApiUrl']),
    );
  });
});

describe('serverless package with every optional param set', () => {
  let pkg: Packaged;
  beforeAll(async () => {
    pkg = await packageService([
      '--param=ecsClusters=prod,staging',
      '--param=crossAccountRoleName=mesh-reader',
      '--param=meshK8sUrl=https://mesh.example.com',
      '--param=meshK8sTokenSecretId=arn:aws:secretsmanager:us-east-1:111122223333:secret:mesh/token-AbCdEf',
      '--param=alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops',
    ]);
  }, PACKAGE_TIMEOUT);
  afterAll(() => rmSync(pkg.dir, { recursive: true, force: true }));

  it('passes cfn-lint, with the params as the stack parameters defaults', () => {
    expect(pkg.code, pkg.output).toBe(0);
    expect(pkg.output).not.toContain('warning: mesh');
    const t = pkg.template;
    expect(t.Parameters.EcsClusters!.Default).toBe('prod,staging');
    const statements = evaluate(t.Resources.TaskEventsRole!.Properties.Policies, t, {})[0].PolicyDocument.Statement as Json[];
    // A full ARN is granted as it is.
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mesh/token-AbCdEf' }),
    );
  });

  it('fails on a param CloudFormation would refuse', async () => {
    const bad = await packageService(['--param=ecsClusters=prod, staging']);
    rmSync(bad.dir, { recursive: true, force: true });
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('E2015');
  }, PACKAGE_TIMEOUT);
});
