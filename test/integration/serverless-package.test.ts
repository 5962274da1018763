// Packages the service with the real osls + serverless-esbuild and lints it with the pinned cfn-lint
// (scripts/package.mjs, what `npm run package` runs) with the params of params.example.yml, then
// checks the CloudFormation it produced and starts every bundle with only its own environment.
// No AWS is involved: packaging must work offline and without credentials.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENROLLMENT_TABLE_INDEXES } from '../../shared/adapters/dynamodb-enrollment-store.js';
import { FUNCTION_SETTINGS, type FunctionName } from '../../shared/config.js';
import { canonicalTemplate } from '../support/canonical-template.js';
import { lambdaEnvironment, resolve, type Json, type Template } from '../support/cloudformation.js';
import { readCloudFormationYaml } from '../support/cloudformation-yaml.js';
import { matchesPattern } from '../support/event-pattern.js';
import { FUNCTION_SDK_CLIENTS, SDK_CLIENTS, type SdkClient } from '../support/function-sdk-clients.js';
// @ts-expect-error -- plain ESM helper shared with the npm scripts
import { zipEntries } from '../../scripts/package.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE_TIMEOUT = 240_000;
const EXAMPLE_PARAMS = ['--params', 'params.example.yml'];

interface Packaged {
  code: number;
  output: string;
  dir: string;
  template: Template;
  /** The checkout's .serverless/ as it was before and after: packaging writes only to `dir`. */
  serverlessDir: { before: string; after: string };
}

/** The checkout's .serverless/: absent, or its files with their modification times. */
function serverlessDirState(): string {
  const dir = join(root, '.serverless');
  return existsSync(dir) ? readdirSync(dir).map((f) => `${f}@${statSync(join(dir, f)).mtimeMs}`).join(',') : 'absent';
}

async function packageService(extraArgs: string[] = EXAMPLE_PARAMS): Promise<Packaged> {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-mesh-package-'));
  const before = serverlessDirState();
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
  return { code, output, dir, template, serverlessDir: { before, after: serverlessDirState() } };
}


/** The template's intrinsics resolved for given parameter values. */
const evaluate = (node: Json, t: Template, params: Record<string, string>): Json => resolve(node, t, { params });
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** Every statement of every role policy, with each Fn::If branch (but AWS::NoValue) kept. */
function roleStatements(t: Template, roleId: string): Json[] {
  const expand = (s: Json): Json[] => (s && s['Fn::If'] ? [s['Fn::If'][1], s['Fn::If'][2]].flatMap(expand) : s?.Ref === 'AWS::NoValue' ? [] : [s]);
  return (t.Resources[roleId]!.Properties.Policies as Json[]).flatMap((p) => (p.PolicyDocument.Statement as Json[]).flatMap(expand));
}
const actionsOn = (statements: Json[], resource: Json) =>
  statements.filter((s) => asArray(s.Resource).some((r: Json) => JSON.stringify(r) === JSON.stringify(resource))).flatMap((s) => asArray(s.Action as string));

/** The functions of the template: serverless.yml's name (shared/config.ts's key) -> resource id. */
const FUNCTIONS = Object.keys(FUNCTION_SETTINGS).map((fn) => ({ fn: fn as FunctionName, id: `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction` }));

/** Imports a bundled handler in a fresh Node process with exactly `env`; resolves with its exit code and output. */
async function importBundle(file: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  const script = "const m = await import(process.argv[1]); if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(3); }";
  try {
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(file).href], { env, timeout: 30_000 });
    return { code: 0, output: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: e.stderr ?? String(err) };
  }
}

/** Every file of a function's zip, as text: what marker strings are looked for in. */
function bundledCode(dir: string, fn: FunctionName): string {
  return ((zipEntries(join(dir, `${fn}.zip`)) ?? []) as Array<{ data(): Buffer }>).map((e) => e.data().toString('utf8')).join('\n');
}

describe('serverless package without the required params', () => {
  it('fails before bundling and names every missing param', async () => {
    const pkg = await packageService([]);
    rmSync(pkg.dir, { recursive: true, force: true });

    expect(pkg.code).not.toBe(0);
    expect(pkg.output).toContain('missing required stage params');
    for (const param of ['meshK8sUrl', 'meshK8sAuth', 'authAudience', 'authAllowedAccounts']) expect(pkg.output).toMatch(new RegExp(`^\\s+${param}: `, 'm'));
    expect(pkg.output).not.toMatch(/zipped/);
  }, PACKAGE_TIMEOUT);

  it('fails `osls deploy` the same way, before it builds or calls anything', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL']) delete env[name];

    const deploy = await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'osls', 'bin', 'serverless.js'), 'deploy', '--stage', 'ci', '--region', 'us-east-1'], { cwd: root, env, timeout: 120_000 }).then(
      () => ({ code: 0, output: '' }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );

    expect(deploy.code).not.toBe(0);
    expect(deploy.output).toContain('missing required stage params for stage "ci"');
    expect(deploy.output).toMatch(/^\s+meshK8sUrl: /m);
  }, PACKAGE_TIMEOUT);

  it.each([
    { case: 'eks auth without the cluster name', params: ['--param=meshK8sAuth=eks'], missing: 'meshK8sEksClusterName' },
    { case: 'bearer auth without the token secret', params: ['--param=meshK8sAuth=bearer'], missing: 'meshK8sTokenSecretId' },
    { case: 'subnets without security groups', params: ['--param=meshK8sAuth=bearer', '--param=meshK8sTokenSecretId=mesh/token', '--param=meshSubnetIds=subnet-0a1b2c3d'], missing: 'meshSecurityGroupIds' },
    {
      case: 'several allowed accounts without the cross-account role',
      params: ['--param=meshK8sAuth=bearer', '--param=meshK8sTokenSecretId=mesh/token', '--param=authAllowedAccounts=111122223333,444455556666'],
      missing: 'crossAccountRoleName',
    },
  ])('fails for $case, naming it', async ({ params, missing }) => {
    const nameOf = (arg: string) => arg.split('=')[1];
    const required = ['--param=meshK8sUrl=https://mesh.example.com', '--param=authAudience=ci', '--param=authAllowedAccounts=111122223333'].filter((r) => !params.some((p) => nameOf(p) === nameOf(r)));

    const pkg = await packageService([...required, ...params]);
    rmSync(pkg.dir, { recursive: true, force: true });

    expect(pkg.code).not.toBe(0);
    expect(pkg.output).toMatch(new RegExp(`^\\s+${missing}: `, 'm'));
  }, PACKAGE_TIMEOUT);
});

describe('serverless package (osls + esbuild + cfn-lint)', () => {
  let pkg: Packaged;
  let t: Template;
  beforeAll(async () => {
    pkg = await packageService();
    t = pkg.template;
  }, PACKAGE_TIMEOUT);
  afterAll(() => rmSync(pkg.dir, { recursive: true, force: true }));

  it('packages, passes cfn-lint with no error and no warning, and reports the bundle sizes', () => {
    expect(pkg.code, pkg.output).toBe(0);
    expect(pkg.output).toContain('cfn-lint: no errors, no warnings');
    expect(pkg.output).not.toMatch(/^[EWI]\d{4} /m);
    // npm test must leave a developer's own `npm run package` output alone.
    expect(pkg.serverlessDir.after).toBe(pkg.serverlessDir.before);
    expect(pkg.output).toMatch(/taskEvents\s+\d+ KB zipped/);
    expect(pkg.output).toMatch(/enrollments\s+\d+ KB zipped/);
    // ESM bundles (.mjs): the Lambda runtime resolves handler "functions/task-events/handler.handler" to it.
    expect(readFileSync(join(pkg.dir, 'taskEvents.zip')).includes('functions/task-events/handler.mjs')).toBe(true);
    expect(readFileSync(join(pkg.dir, 'enrollments.zip')).includes('functions/enrollments/handler.mjs')).toBe(true);
  });

  it('renders the template committed in __snapshots__/packaged-template.json', async () => {
    // What the stack deploys, whichever file of resources/ a piece lives in. A change on purpose:
    // run this file with -u and review the snapshot's diff with the change.
    await expect(canonicalTemplate(t)).toMatchFileSnapshot('./__snapshots__/packaged-template.json');
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
    const queue = mappings.filter(([, m]) => (m as Json).Properties.EventSourceArn['Fn::GetAtt']?.[0] === 'TaskEventsQueue');
    expect(queue).toHaveLength(1);
    expect((queue[0]![1] as Json).Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['TaskEventsQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['TaskEventsLambdaFunction', 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Bounded, so a burst of events reaches the mesh's API server from a few Lambdas, not hundreds.
      ScalingConfig: { MaximumConcurrency: { Ref: 'TaskEventsMaxConcurrency' } },
    });
    expect(t.Parameters.TaskEventsMaxConcurrency).toMatchObject({ Type: 'Number', Default: '5', MinValue: 2, MaxValue: 1000 });
    // AWS's advice for SQS event sources: a visibility timeout of 6x the function timeout plus
    // the batching window, so a batch still in flight is not delivered again.
    const timeout = t.Resources.TaskEventsLambdaFunction!.Properties.Timeout as number;
    expect(t.Resources.TaskEventsQueue!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout + 5);
  });

  it('sends every policy write to the reconciler through the policy table stream, and IAM role changes through EventBridge', () => {
    expect(t.Resources.PolicyTable!.Properties.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
    const stream = ofType(t, 'AWS::Lambda::EventSourceMapping').find(([, m]) => (m as Json).Properties.EventSourceArn['Fn::GetAtt']?.[0] === 'PolicyTable');
    expect((stream?.[1] as Json | undefined)?.Properties).toMatchObject({ FunctionName: { 'Fn::GetAtt': ['ReconcileLambdaFunction', 'Arn'] }, StartingPosition: 'LATEST' });
    const iamRule = ofType(t, 'AWS::Events::Rule').find(([, r]) => (r as Json).Properties.EventPattern?.source?.[0] === 'aws.iam');
    expect((iamRule?.[1] as Json | undefined)?.Properties.EventPattern.detail.eventName.sort()).toEqual(['DeleteRole', 'TagRole', 'UntagRole', 'UpdateAssumeRolePolicy']);
    expect((iamRule?.[1] as Json | undefined)?.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['ReconcileLambdaFunction', 'Arn'] });
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
      'GET /v1/dlq',
      'GET /v1/enrollments',
      'GET /v1/enrollments/{taskId}',
      'GET /v1/keys',
      'GET /v1/namespaces/{namespace}/policies',
      'GET /v1/namespaces/{namespace}/policies/{name}',
      'GET /v1/namespaces/{namespace}/policies/{name}/history',
      'POST /v1/dlq/replay',
      'POST /v1/explain',
      'POST /v1/keys/revoke',
      'POST /v1/keys/rotate',
      'POST /v1/reconcile',
      'PUT /v1/namespaces/{namespace}/policies/{name}',
    ]);
    expect(byAuth(false)).toEqual(['GET /.well-known/jwks.json', 'GET /.well-known/openid-configuration', 'POST /v1/auth/exchange']);
  });

  it('runs key rotation, token maintenance and the mesh names on schedules', () => {
    const schedules = ofType(t, 'AWS::Events::Rule')
      .filter(([, r]) => r.Properties.ScheduleExpression)
      .map(([, r]) => [r.Properties.ScheduleExpression, r.Properties.Targets[0].Arn['Fn::GetAtt'][0]]);
    expect(schedules.sort()).toEqual([
      ['rate(1 hour)', 'TokenMaintenanceLambdaFunction'],
      ['rate(1 minute)', 'NamesLambdaFunction'],
      ['rate(30 days)', 'KeysLambdaFunction'],
      ['rate(5 minutes)', 'ReconcileLambdaFunction'],
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
    // Each profile's own key set and public keys, exactly those four secrets, for the signers and the keys function.
    const keySecrets = ['signing-keys', 'jwks', 'signing-keys-kuma', 'jwks-kuma'].map((name) => `${prefix}${name}-??????`);
    for (const id of ['AuthRole', 'KeysRole']) expect(secretGrants(id).map((g) => asArray(g.Resource as string))).toEqual([keySecrets]);
  });

  it('runs every function on nodejs22.x arm64 with only the settings shared/config.ts reads for it', () => {
    for (const { fn, id } of FUNCTIONS) {
      const props = t.Resources[id]!.Properties;
      expect(props.Runtime, id).toBe('nodejs22.x');
      expect(props.Architectures, id).toEqual(['arm64']);
      const env = lambdaEnvironment(t, id);
      const unused = Object.keys(env).filter((name) => !(name in FUNCTION_SETTINGS[fn]) && !['NODE_OPTIONS', 'AWS_REGION', 'AWS_EC2_METADATA_DISABLED'].includes(name));
      expect(unused, `${fn} gets settings it never reads`).toEqual([]);
    }
    const taskEvents = lambdaEnvironment(t, 'TaskEventsLambdaFunction');
    expect(taskEvents).toMatchObject({ POLICY_TABLE: 'PolicyTable', ENROLLMENT_TABLE: 'EnrollmentTable', MESH_API: 'kubernetes', MESH_K8S_AUTH: 'eks', TOMBSTONE_TTL_SECONDS: '86400', LOG_LEVEL: 'INFO' });
    // The bundles carry no source map, so no cold start pays for --enable-source-maps.
    expect(taskEvents).not.toHaveProperty('NODE_OPTIONS');
    // Optional settings left empty are absent, not empty strings.
    expect(taskEvents).not.toHaveProperty('MESH_K8S_TOKEN_SECRET_ID');
    expect(taskEvents).not.toHaveProperty('CROSS_ACCOUNT_ROLE_NAME');
    expect(lambdaEnvironment(t, 'EnrollmentsLambdaFunction')).not.toHaveProperty('MESH_K8S_URL');
  });

  it('starts every bundled handler with only its own environment, and a handler missing a setting does not start', async () => {
    const unzipped = mkdtempSync(join(tmpdir(), 'ecs-mesh-bundles-'));
    try {
      for (const zip of readdirSync(pkg.dir).filter((f) => f.endsWith('.zip'))) await promisify(execFile)('python3', ['-m', 'zipfile', '-e', join(pkg.dir, zip), join(unzipped, zip)]);
      const bundle = (fn: FunctionName) => {
        const handler = t.Resources[FUNCTIONS.find((f) => f.fn === fn)!.id]!.Properties.Handler as string;
        return join(unzipped, `${fn}.zip`, `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`);
      };

      for (const { fn, id } of FUNCTIONS) expect(await importBundle(bundle(fn), lambdaEnvironment(t, id)), fn).toEqual({ code: 0, output: '' });
      const { MESH_K8S_URL: _, ...withoutMeshUrl } = lambdaEnvironment(t, 'TokenMaintenanceLambdaFunction');
      const broken = await importBundle(bundle('tokenMaintenance'), withoutMeshUrl);
      expect(broken.code).not.toBe(0);
      expect(broken.output).toContain('MESH_K8S_URL');
    } finally {
      rmSync(unzipped, { recursive: true, force: true });
    }
  }, PACKAGE_TIMEOUT);

  it('keeps local-only code and ajv\'s compiler out of the bundles, each zip at most 500 KB', () => {
    // Strings only their source has, so the check holds however the bundle is minified.
    const markers = [
      { what: 'the file mesh adapter', marker: 'ecsmesh.io/file-uid', source: 'shared/adapters/file-mesh-api.ts' },
      { what: 'yaml', marker: 'MULTILINE_IMPLICIT_KEY', source: 'node_modules/yaml/dist/compose/resolve-block-map.js' },
      { what: "ajv's compiler", marker: 'strictSchema', source: 'node_modules/ajv/dist/core.js' },
    ];
    for (const { marker, source } of markers) expect(readFileSync(join(root, source), 'utf8'), source).toContain(marker);
    const code = (fn: FunctionName) => bundledCode(pkg.dir, fn);

    for (const { fn } of FUNCTIONS) {
      const bundle = code(fn);
      // The policy API reads YAML documents: yaml is its own, and proves the marker can be found.
      for (const { what, marker } of markers) expect(bundle.includes(marker), `${fn} bundles ${what}`).toBe(fn === 'policies' && what === 'yaml');
      expect(readFileSync(join(pkg.dir, `${fn}.zip`)).length, `${fn}.zip`).toBeLessThanOrEqual(500 * 1024);
    }
  });

  it('keeps the entry writer out of every function that never writes entries, and the CRD validator out of every one that never decides', () => {
    // The writers apply entries; the deciders run the one enrollment decision, which refuses an
    // entry Istio's CRD would refuse (ENTRY_INVALID) and so loads the validator at its first
    // decision. Explain and auth decide but never write; token maintenance only reads groups. The
    // names function writes Sidecars with the same server-side apply and holds them to Istio's CRD
    // (its rules in CEL) before it does, so it carries the writer and the validator too.
    const writers: FunctionName[] = ['taskEvents', 'reconcile', 'names'];
    const deciders: FunctionName[] = [...writers, 'auth', 'explain'];
    const markers = {
      writer: { marker: 'apply-patch+yaml', source: 'shared/adapters/kubernetes-mesh-api.ts' },
      validator: { marker: 'x-kubernetes-validations', source: 'shared/core/crd-validator.ts' },
      cel: { marker: 'Octal escape must be 3 digits', source: 'node_modules/@marcbachmann/cel-js/lib/parser.js' },
    };
    for (const { marker, source } of Object.values(markers)) expect(readFileSync(join(root, source), 'utf8'), source).toContain(marker);
    const code = (fn: FunctionName) => bundledCode(pkg.dir, fn);

    const bundled = Object.fromEntries(FUNCTIONS.map(({ fn }) => [fn, { writer: code(fn).includes(markers.writer.marker), validator: code(fn).includes(markers.validator.marker), cel: code(fn).includes(markers.cel.marker) }]));

    expect(bundled).toEqual(Object.fromEntries(FUNCTIONS.map(({ fn }) => [fn, { writer: writers.includes(fn), validator: deciders.includes(fn), cel: deciders.includes(fn) }])));
  });

  it('bundles the SDK clients each function calls and no other', () => {
    for (const { marker, source } of Object.values(SDK_CLIENTS)) expect(readFileSync(join(root, source), 'utf8'), source).toContain(marker);
    const code = (fn: FunctionName) => bundledCode(pkg.dir, fn);

    const bundled = Object.fromEntries(FUNCTIONS.map(({ fn }) => [fn, (Object.keys(SDK_CLIENTS) as SdkClient[]).filter((client) => code(fn).includes(SDK_CLIENTS[client].marker))]));

    expect(bundled).toEqual(Object.fromEntries(FUNCTIONS.map(({ fn }) => [fn, [...FUNCTION_SDK_CLIENTS[fn]]])));
  });

  it('creates an EKS access entry for each role that calls the mesh, in the group rbac.yaml binds, only when asked', () => {
    const entries = ofType(t, 'AWS::EKS::AccessEntry').map(([, r]) => ({ condition: (r as Json).Condition, role: r.Properties.PrincipalArn['Fn::GetAtt'][0], groups: r.Properties.KubernetesGroups }));
    expect(entries.sort((a, b) => a.role.localeCompare(b.role))).toEqual([
      { condition: 'CreateEksAccessEntries', role: 'AuthRole', groups: ['ecs-mesh-onboarding-reader'] },
      { condition: 'CreateEksAccessEntries', role: 'ExplainRole', groups: ['ecs-mesh-onboarding-reader'] },
      { condition: 'CreateEksAccessEntries', role: 'NamesRole', groups: ['ecs-mesh-onboarding-names'] },
      { condition: 'CreateEksAccessEntries', role: 'ReconcileRole', groups: ['ecs-mesh-onboarding-writer'] },
      { condition: 'CreateEksAccessEntries', role: 'TaskEventsRole', groups: ['ecs-mesh-onboarding-writer'] },
      { condition: 'CreateEksAccessEntries', role: 'TokenMaintenanceRole', groups: ['ecs-mesh-onboarding-reader'] },
    ]);
    const rbac = readFileSync(join(root, 'deploy', 'kubernetes', 'rbac.yaml'), 'utf8');
    for (const group of ['ecs-mesh-onboarding-writer', 'ecs-mesh-onboarding-reader', 'ecs-mesh-onboarding-names']) expect(rbac).toContain(`kind: Group\n    name: ${group}`);
    const create = (params: Record<string, string>) => evaluate(t.Conditions.CreateEksAccessEntries, t, params);
    expect(create({})).toBe(true);
    expect(create({ MeshEksAccessEntries: 'false' })).toBe(false);
    expect(create({ MeshK8sAuth: 'bearer' })).toBe(false);
  });

  it('puts exactly the functions that call the mesh in its VPC when subnets are given, with the ENI permissions Lambda needs', () => {
    const inVpc = (params: Record<string, string>) =>
      FUNCTIONS.filter(({ id }) => evaluate({ x: t.Resources[id]!.Properties.VpcConfig ?? { Ref: 'AWS::NoValue' } }, t, params).x !== undefined).map(({ fn }) => fn);
    const vpc = { MeshSubnetIds: 'subnet-0a,subnet-0b', MeshSecurityGroupIds: 'sg-0c' };

    expect(inVpc({})).toEqual([]);
    expect(inVpc(vpc).sort()).toEqual(['auth', 'explain', 'names', 'reconcile', 'taskEvents', 'tokenMaintenance']);
    expect(evaluate(t.Resources.AuthLambdaFunction!.Properties.VpcConfig, t, vpc)).toEqual({ SubnetIds: ['subnet-0a', 'subnet-0b'], SecurityGroupIds: ['sg-0c'] });
    for (const role of ['TaskEventsRole', 'ExplainRole', 'AuthRole', 'TokenMaintenanceRole', 'ReconcileRole', 'NamesRole']) {
      expect(evaluate(t.Resources[role]!.Properties, t, vpc).ManagedPolicyArns, role).toEqual(['arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']);
      expect(evaluate(t.Resources[role]!.Properties, t, {}), role).not.toHaveProperty('ManagedPolicyArns');
    }
  });

  it('lints the member-account role, which grants the reads the functions make there to the roles that assume it', () => {
    const member = readCloudFormationYaml(join(root, 'deploy', 'member-account-role.yaml'));
    const role = member.Resources.CrossAccountReaderRole!.Properties;

    expect(pkg.output).toContain('deploy/member-account-role.yaml');
    expect(role.RoleName).toEqual({ Ref: 'RoleName' });
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({ Effect: 'Allow', Principal: { AWS: { Ref: 'ControlPlaneRoleArns' } }, Action: 'sts:AssumeRole' })]);
    const granted = (role.Policies as Json[]).flatMap((p) => (p.PolicyDocument.Statement as Json[]).flatMap((st) => asArray(st.Action as string)));
    // iam:GetRole for role tags (IamRoleDirectory); DescribeTasks/DescribeTaskDefinition (EcsTaskDirectory);
    // ListClusters/ListTasks for the hub's reconciler (EcsTaskInventory); DescribeSubnets (Ec2SubnetDirectory).
    expect(granted.sort()).toEqual(['ec2:DescribeSubnets', 'ecs:DescribeTaskDefinition', 'ecs:DescribeTasks', 'ecs:ListClusters', 'ecs:ListTasks', 'iam:GetRole']);
    // The control-plane roles that may assume it are the ones its ControlPlaneRoleArns names.
    const assumers = ofType(t, 'AWS::IAM::Role')
      .filter(([id]) => evaluate(t.Resources[id]!.Properties.Policies, t, { CrossAccountRoleName: 'ecs-mesh-onboarding-reader' })[0].PolicyDocument.Statement.some((st: Json) => st.Action === 'sts:AssumeRole'))
      .map(([id]) => id);
    expect(assumers.sort()).toEqual(['AuthRole', 'ExplainRole', 'ReconcileRole', 'TaskEventsRole']);
    expect(member.Parameters.ControlPlaneRoleArns).toMatchObject({ Description: expect.stringMatching(/TaskEventsRoleArn, ExplainRoleArn, AuthRoleArn and ReconcileRoleArn/) });
    expect(Object.keys(t.Outputs)).toEqual(expect.arrayContaining(['TaskEventsRoleArn', 'ExplainRoleArn', 'AuthRoleArn', 'TokenMaintenanceRoleArn']));
  });

  it("forwards a member's ECS Task State Change events to the hub's bus, through a role that may put events there only", () => {
    const member = readCloudFormationYaml(join(root, 'deploy', 'member-account-role.yaml'));
    const params = { HubEventBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/default' };
    const rule = resolve(member.Resources.TaskStateChangeForwardingRule!.Properties, member, { params, account: '444455556666' });
    const role = resolve(member.Resources.TaskStateChangeForwardingRole!.Properties, member, { params, account: '444455556666' });

    // The same events as the hub's own rule, to the bus the hub's HubEventBusArn output names.
    expect(rule.EventPattern).toEqual(evaluate(t.Resources.TaskStateChangeRule!.Properties.EventPattern, t, { EcsClusters: '' }));
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: params.HubEventBusArn, RoleArn: expect.stringContaining(':role/') })]);
    expect(resolve(t.Outputs.HubEventBusArn!.Value, t)).toBe(params.HubEventBusArn);
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Sid: 'EventBridgeOfThisAccount', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': '444455556666' } } },
    ]);
    expect(role.Policies.flatMap((p: Json) => p.PolicyDocument.Statement)).toEqual([{ Sid: 'PutEventsOnHubBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: params.HubEventBusArn }]);
  });

  it("admits the members' forwarded events: the bus policy names them or their organization, and the rule's account pin lets them through", () => {
    const forwarded = (account: string) => ({
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      account,
      region: 'us-east-1',
      detail: { clusterArn: `arn:aws:ecs:us-east-1:${account}:cluster/prod` },
    });
    const ruleFor = (params: Record<string, string>) => {
      const pattern = evaluate(t.Resources.TaskStateChangeRule!.Properties.EventPattern, t, params);
      return typeof pattern === 'string' ? JSON.parse(pattern) : pattern;
    };
    const busPolicies = (params: Record<string, string>) =>
      ofType(t, 'AWS::Events::EventBusPolicy')
        .filter(([, r]) => resolve({ 'Fn::If': [(r as Json).Condition, true, false] }, t, { params }))
        .map(([, r]) => evaluate((r as Json).Properties, t, params));
    const members = { EcsClusters: 'prod', MemberAccounts: '444455556666,777788889999' };
    const organization = { EcsClusters: 'prod', MemberOrganizationId: 'o-a1b2c3d4e5' };

    // A forwarded event keeps the member's account: with ecsClusters set, the pin lists the members.
    expect(['111122223333', '444455556666', '777788889999', '999999999999'].map((a) => matchesPattern(ruleFor(members), forwarded(a)))).toEqual([true, true, true, false]);
    expect(matchesPattern(ruleFor({ EcsClusters: 'prod' }), forwarded('444455556666'))).toBe(false);
    // Admitted by organization, any account the bus takes events from passes the rule.
    expect(matchesPattern(ruleFor(organization), forwarded('999999999999'))).toBe(true);
    expect(matchesPattern(ruleFor({ EcsClusters: '' }), forwarded('444455556666'))).toBe(true);

    const onlyEcsEvents = { 'events:source': 'aws.ecs', 'events:detail-type': 'ECS Task State Change' };
    const bus = 'arn:aws:events:us-east-1:111122223333:event-bus/default';
    expect(busPolicies({})).toEqual([]);
    expect(busPolicies(members)).toEqual([
      expect.objectContaining({ EventBusName: 'default', Statement: { Effect: 'Allow', Principal: { AWS: ['444455556666', '777788889999'] }, Action: 'events:PutEvents', Resource: bus, Condition: { StringEquals: onlyEcsEvents } } }),
    ]);
    expect(busPolicies(organization)).toEqual([
      expect.objectContaining({ Statement: { Effect: 'Allow', Principal: '*', Action: 'events:PutEvents', Resource: bus, Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5', ...onlyEcsEvents } } } }),
    ]);
  });

  it('gives the reconciler the member accounts, and every reader the role names per member, each assumable by that ARN only', () => {
    const params = { CrossAccountRoleName: 'ecs-mesh-reader', MemberRoleNames: '444455556666=payments-reader,777788889999=ops-reader', MemberAccounts: '444455556666' };
    const env = (id: string) => evaluate(t.Resources[id]!.Properties.Environment.Variables, t, params);

    expect(env('ReconcileLambdaFunction')).toMatchObject({ MEMBER_ACCOUNTS: '444455556666', MEMBER_ROLE_NAMES: params.MemberRoleNames, CROSS_ACCOUNT_ROLE_NAME: 'ecs-mesh-reader' });
    for (const role of ['TaskEventsRole', 'ExplainRole', 'AuthRole', 'ReconcileRole']) {
      const statements = evaluate(t.Resources[role]!.Properties.Policies, t, params)[0].PolicyDocument.Statement as Json[];
      expect(statements.find((s) => s.Sid === 'AssumeMemberReaders'), role).toEqual({
        Sid: 'AssumeMemberReaders',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: ['arn:*:iam::444455556666:role/payments-reader', 'arn:*:iam::777788889999:role/ops-reader'],
      });
      expect(evaluate(t.Resources[role]!.Properties.Policies, t, {})[0].PolicyDocument.Statement.map((s: Json) => s.Sid), role).not.toContain('AssumeMemberReaders');
    }
  });

  it('gives the enrollment table the indexes the local stack creates, or their first N while an older stack gains them', () => {
    const table = (params: Record<string, string>) => evaluate(t.Resources.EnrollmentTable!.Properties, t, params);
    const definitions = (indexes: typeof ENROLLMENT_TABLE_INDEXES) =>
      [...new Set(['taskId', ...indexes.flatMap((i) => i.KeySchema.map((k) => k.AttributeName))])].map((AttributeName) => ({ AttributeName, AttributeType: 'S' }));

    expect(table({})).toMatchObject({ GlobalSecondaryIndexes: ENROLLMENT_TABLE_INDEXES, AttributeDefinitions: definitions(ENROLLMENT_TABLE_INDEXES) });
    for (const n of [1, 2, 3])
      expect(table({ EnrollmentIndexes: String(n) })).toMatchObject({ GlobalSecondaryIndexes: ENROLLMENT_TABLE_INDEXES.slice(0, n), AttributeDefinitions: definitions(ENROLLMENT_TABLE_INDEXES.slice(0, n)) });
  });

  it('reserves no concurrency, which a new account (quota 10) would refuse', () => {
    for (const { id } of FUNCTIONS) expect(t.Resources[id]!.Properties, id).not.toHaveProperty('ReservedConcurrentExecutions');
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
    // DeleteItem: a draining task gives up its address claim (shared/adapters/dynamodb-address-claims.ts).
    expect(actionsOn(taskEvents, enrollmentTable).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(actionsOn(enrollments, enrollmentTable).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem']);
    // No role scans the enrollment table: every listing is a Query of an index.
    for (const role of ['EnrollmentsRole', 'ReconcileRole', 'TokenMaintenanceRole']) expect(roleStatements(t, role).flatMap((st) => asArray(st.Action as string))).not.toContain('dynamodb:Scan');
    expect(actionsOn(enrollments, policyTable)).toEqual([]);
    expect(actionsOn(taskEvents, { 'Fn::GetAtt': ['TaskEventsLogGroup', 'Arn'] })).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(actionsOn(enrollments, { 'Fn::GetAtt': ['EnrollmentsLogGroup', 'Arn'] })).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);

    // Conditional grants exist only when their param is set.
    const grantsOf = (params: Record<string, string>) =>
      (evaluate(t.Resources.TaskEventsRole!.Properties.Policies, t, params)[0].PolicyDocument.Statement as Json[]).flatMap((s) => asArray(s.Action as string));
    expect(grantsOf({})).not.toContain('sts:AssumeRole');
    // A task's VPC is read only when meshNetworks names a VPC.
    expect([grantsOf({}), grantsOf({ MeshNetworks: '123456789012=net-a' }), grantsOf({ MeshNetworks: '123456789012=net-a,vpc-0abc1234=net-b' })].map((g) => g.includes('ec2:DescribeSubnets'))).toEqual([false, false, true]);
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
    expect(roles.map(([id]) => id).sort()).toEqual(['AuthRole', 'DiscoveryRole', 'DlqRole', 'EnrollmentsRole', 'ExplainRole', 'KeysRole', 'NamesRole', 'PoliciesRole', 'ReconcileRole', 'TaskEventsRole', 'TokenMaintenanceRole']);
    for (const [id] of roles) {
      for (const statement of roleStatements(t, id)) {
        expect(statement.Effect).toBe('Allow');
        expect(statement).not.toHaveProperty('NotAction');
        expect(statement).not.toHaveProperty('NotResource');
        for (const action of asArray(statement.Action as string)) expect(action, `${id}: ${action}`).not.toContain('*');
        if (asArray(statement.Resource).includes('*'))
          expect([['ecs:DescribeTaskDefinition'], ['secretsmanager:ListSecrets'], ['ecs:ListClusters'], ['ecs:ListTasks'], ['ec2:DescribeSubnets']], `${id}: ${JSON.stringify(statement)}`).toContainEqual(asArray(statement.Action));
      }
    }
  });

  it('traces every function with X-Ray, each role allowed to send its segments and nothing else on "*"', () => {
    for (const { id } of FUNCTIONS) expect(t.Resources[id]!.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
    const xray = t.Resources.XRayWriteTracesPolicy!;
    expect(xray.Type).toBe('AWS::IAM::Policy');
    const roles = ofType(t, 'AWS::IAM::Role').map(([id]) => id);
    expect((xray.Properties.Roles as Json[]).map((r) => r.Ref).sort()).toEqual(roles.sort());
    expect(xray.Properties.PolicyDocument.Statement).toEqual([{ Sid: 'WriteTraces', Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' }]);
  });

  it('lets the dlq function read and delete only the DLQ, and send only to the task-events queue', () => {
    const statements = roleStatements(t, 'DlqRole');
    expect(actionsOn(statements, { 'Fn::GetAtt': ['TaskEventsDeadLetterQueue', 'Arn'] }).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']);
    expect(actionsOn(statements, { 'Fn::GetAtt': ['TaskEventsQueue', 'Arn'] })).toEqual(['sqs:SendMessage']);
    expect(statements.flatMap((st) => asArray(st.Action as string)).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage', 'sqs:SendMessage']);
    expect(lambdaEnvironment(t, 'DlqLambdaFunction')).toMatchObject({ DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/TaskEventsDeadLetterQueue', TASK_EVENTS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/TaskEventsQueue' });
  });

  it('alarms on errors and throttles of every function, the queues, the rule and exchange 5xx, all without a topic by default', () => {
    const alarms = ofType(t, 'AWS::CloudWatch::Alarm').map(([id, r]) => ({ id, ...r.Properties }));
    const on = (namespace: string, metric: string) => alarms.filter((a) => a.Namespace === namespace && a.MetricName === metric);
    for (const metric of ['Errors', 'Throttles'])
      expect(on('AWS/Lambda', metric).map((a) => a.Dimensions[0].Value.Ref).sort(), metric).toEqual(FUNCTIONS.map(({ id }) => id).sort());
    const queueAlarm = (metric: string, queue: string) => on('AWS/SQS', metric).find((a) => a.Dimensions[0].Value['Fn::GetAtt'][0] === queue);
    expect(queueAlarm('ApproximateNumberOfMessagesVisible', 'TaskEventsDeadLetterQueue')).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(queueAlarm('ApproximateAgeOfOldestMessage', 'TaskEventsDeadLetterQueue')).toMatchObject({ Threshold: 604800 });
    expect(queueAlarm('ApproximateAgeOfOldestMessage', 'TaskEventsQueue')).toMatchObject({ Threshold: 300 });
    expect(queueAlarm('ApproximateNumberOfMessagesVisible', 'TaskStateChangeRuleDeadLetterQueue')).toBeDefined();
    expect(on('AWS/Events', 'FailedInvocations').map((a) => a.Dimensions)).toEqual([[{ Name: 'RuleName', Value: { Ref: 'TaskStateChangeRule' } }]]);
    expect(on('AWS/ApiGateway', '5xx').map((a) => a.Dimensions)).toEqual([
      [
        { Name: 'ApiId', Value: { Ref: 'HttpApi' } },
        { Name: 'Stage', Value: '$default' },
        { Name: 'Method', Value: 'POST' },
        { Name: 'Resource', Value: '/v1/auth/exchange' },
      ],
    ]);
    for (const alarm of alarms) {
      expect(alarm.TreatMissingData, alarm.id).toBe('notBreaching');
      for (const actions of ['AlarmActions', 'OKActions']) expect(evaluate({ x: alarm[actions] }, t, {}), `${alarm.id} ${actions}`).toEqual({});
    }
  });

  it('draws a dashboard of the key metrics', () => {
    const [[, dashboard]] = ofType(t, 'AWS::CloudWatch::Dashboard') as [[string, Json]];
    const body = JSON.parse(evaluate(dashboard.Properties.DashboardBody, t, {}) as string) as { widgets: { properties: { title: string; metrics: Json[] } }[] };
    const titles = body.widgets.map((w) => w.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining(['Enrollments by phase and reason', 'Event lag (now - event time), ms', 'Exchange decisions by reason', 'Function errors', 'Function throttles', 'Reconciler repairs by kind']),
    );
    const text = JSON.stringify(body);
    for (const metric of ['MetricName=\\"enrollments\\"', 'event_lag', 'MetricName=exchange_', 'dlq_set_aside', 'ColdStart', 'repair_', 'FailedInvocations', 'ApproximateAgeOfOldestMessage']) expect(text, metric).toContain(metric);
    // Every function's errors are on it, by the name CloudFormation gives it.
    const errors = body.widgets.find((w) => w.properties.title === 'Function errors')!.properties.metrics;
    expect(errors).toHaveLength(FUNCTIONS.length);
  });

  it('throttles the public exchange route and access-logs every request as JSON', () => {
    const stage = t.Resources.HttpApiStage!;
    expect(stage.Properties.RouteSettings).toEqual({ 'POST /v1/auth/exchange': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, DetailedMetricsEnabled: true } });
    expect(asArray(stage.DependsOn)).toContain('HttpApiRoutePostV1AuthExchange');
    expect(t.Resources.HttpApiRoutePostV1AuthExchange!.Properties.RouteKey).toBe('POST /v1/auth/exchange');
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format as string) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', ip: '$context.identity.sourceIp', routeKey: '$context.routeKey', status: '$context.status' });
    expect(t.Resources.HttpApiLogGroup!.Type).toBe('AWS::Logs::LogGroup');
  });

  it('keeps the events EventBridge cannot deliver on a DLQ only the rule may send to', () => {
    const target = t.Resources.TaskStateChangeRule!.Properties.Targets[0];
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['TaskStateChangeRuleDeadLetterQueue', 'Arn'] } });
    const policy = t.Resources.TaskStateChangeRuleDeadLetterQueuePolicy!.Properties;
    expect(policy.Queues).toEqual([{ Ref: 'TaskStateChangeRuleDeadLetterQueue' }]);
    expect(policy.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['TaskStateChangeRule', 'Arn'] } } } }),
    ]);
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
      ...EXAMPLE_PARAMS,
      '--param=meshK8sAuth=bearer',
      '--param=meshEksAccessEntries=false',
      '--param=ecsClusters=prod,staging',
      '--param=crossAccountRoleName=mesh-reader',
      '--param=meshK8sUrl=https://mesh.example.com',
      '--param=meshK8sTokenSecretId=arn:aws:secretsmanager:us-east-1:111122223333:secret:mesh/token-AbCdEf',
      '--param=alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops',
      '--param=taskEventsMaxConcurrency=20',
      '--param=meshSubnetIds=subnet-0a1b2c3d,subnet-0e1f2a3b',
      '--param=meshSecurityGroupIds=sg-0c1d2e3f',
    ]);
  }, PACKAGE_TIMEOUT);
  afterAll(() => rmSync(pkg.dir, { recursive: true, force: true }));

  it('passes cfn-lint with no warning, with the params as the stack parameters defaults', () => {
    expect(pkg.code, pkg.output).toBe(0);
    expect(pkg.output).toContain('cfn-lint: no errors, no warnings');
    const t = pkg.template;
    expect(t.Parameters.EcsClusters!.Default).toBe('prod,staging');
    expect(t.Parameters.TaskEventsMaxConcurrency!.Default).toBe('20');
    const statements = evaluate(t.Resources.TaskEventsRole!.Properties.Policies, t, {})[0].PolicyDocument.Statement as Json[];
    // Every alarm notifies the topic, in alarm and back to OK.
    const alarms = ofType(t, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(2 * Object.keys(FUNCTION_SETTINGS).length);
    for (const [id, alarm] of alarms)
      for (const actions of ['AlarmActions', 'OKActions']) expect(evaluate(alarm.Properties[actions], t, {}), `${id} ${actions}`).toEqual(['arn:aws:sns:us-east-1:111122223333:ops']);
    // A full ARN is granted as it is.
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mesh/token-AbCdEf' }),
    );
  });

  it('fails on a param CloudFormation would refuse', async () => {
    const bad = await packageService([...EXAMPLE_PARAMS, '--param=ecsClusters=prod, staging']);
    rmSync(bad.dir, { recursive: true, force: true });
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('E2015');
  }, PACKAGE_TIMEOUT);
});
