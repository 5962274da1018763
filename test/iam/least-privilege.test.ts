// Least privilege, proven: every AWS call each function made during the integration tests
// (recorded by test/support/aws-call-recorder.ts) is evaluated against that function's role in
// the generated CloudFormation template (`npm run package`), with a real IAM policy evaluator
// (@cloud-copilot/iam-simulate). moto enforces no IAM, so this is where a missing grant shows.
// The test also lists the grants no test exercised, and checks the `*` resources against the
// table of docs/deploy.md, "Least privilege".
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isWildcardOnlyAction, runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_LOG, OWN_ACCESS_KEY, type FileMarker, type RecordedCall } from '../support/aws-call-recorder.js';
import { ACCOUNT, iamRequestsOf, type IamRequest } from './iam-requests.js';
import { functionsOf, memberRolePolicy, rolePolicy, type Statement, type Template } from './template.js';
import { readCloudFormationYaml } from '../support/cloudformation-yaml.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/**
 * Grants that AWS itself uses on the function's behalf, so no code of ours (and no test) calls
 * them: the Lambda runtime writes the function's logs, and the SQS event source mapping polls and
 * deletes with the function's role.
 */
const USED_BY_AWS: { role?: string; sid: string; why: string }[] = [
  { sid: 'Logs', why: 'the Lambda runtime writes the function logs with its role' },
  { role: 'TaskEventsRole', sid: 'ConsumeQueue', why: 'the SQS event source mapping receives and deletes with the function role' },
  { role: 'ReconcileRole', sid: 'PolicyStream', why: "the DynamoDB stream event source mapping reads the policy table's stream with the function role" },
];

/**
 * Grants no integration test exercises yet, each with the reason it is kept. Keep this list exact:
 * an entry a test starts to exercise fails the check too, unless `race` says a race in the tests
 * exercises it only sometimes.
 */
const NOT_EXERCISED: { role: string; sid: string; action: string; why: string; race?: true }[] = [
  {
    role: 'TaskEventsRole',
    sid: 'WriteEnrollments',
    action: 'dynamodb:GetItem',
    why: 'read after a version conflict while enrolling (shared/app/enroll-running-task.ts), which only the concurrent-batch tests may happen to provoke',
    race: true,
  },
  {
    role: 'AuthRole',
    sid: 'SignTokens',
    action: 'secretsmanager:PutSecretValue',
    why: 'a signer publishes its key to a JWKS secret that exists without it (after a failed publish); in the tests the JWKS is always current',
  },
  ...['CreateSecret', 'TagResource', 'RestoreSecret'].map((a) => ({
    role: 'TokenMaintenanceRole',
    sid: 'MaintainServiceTokens',
    action: `secretsmanager:${a}`,
    why: 'the refresh goes through the vault write, which re-creates or restores a secret deleted since it was listed; the tests do not race a deletion',
  })),
  {
    role: 'TokenMaintenanceRole',
    sid: 'MaintainServiceTokens',
    action: 'secretsmanager:DescribeSecret',
    why: 'the vault write (above), or a signer checking its cached key set is still current, which it does only once the set is a few seconds old (DEFAULT_VERSION_CHECK_SECONDS): whether a maintenance test signs that late depends on its timing',
    race: true,
  },
  ...['CreateSecret', 'PutSecretValue', 'TagResource', 'DescribeSecret', 'RestoreSecret'].map((a) => ({
    role: 'ReconcileRole',
    sid: 'MintServiceTokens',
    action: `secretsmanager:${a}`,
    why: "a pass that enrolls a task whose events were all lost mints its service's token if it has none; whether task-events minted it first depends on the order of the tests",
    race: true as const,
  })),
  ...['TaskEventsRole', 'ReconcileRole', 'AuthRole', 'ExplainRole'].map((role) => ({
    role,
    sid: 'ReadSubnets',
    action: 'ec2:DescribeSubnets',
    why: "granted only when meshNetworks names a VPC; the call is signed and sent by shared/adapters/ec2-subnet-directory.ts, not an SDK client (the EC2 client would overflow the 500 KB zips), so the recorder cannot see it: test/integration/address-claims.test.ts makes it against moto",
  })),
  {
    role: 'ReconcileRole',
    sid: 'AssumeCrossAccountReader',
    action: 'sts:AssumeRole',
    why: "the reconciler reads a member account's tasks and roles through the same reader as task-events, explain and auth, which the cross-account tests exercise; its own passes run in one account",
  },
  {
    role: 'NamesRole',
    sid: 'ReadMeshToken',
    action: 'secretsmanager:GetSecretValue',
    why: "the names function reads the bearer token as the four others do (shared/adapters/kubernetes-auth.ts, exercised through them); its tests give the Kubernetes API double's token directly",
  },
];

/**
 * Actions whose only resource type is optional and absent from our calls, so IAM authorizes them on
 * "*": AWS's own example policies grant ecs:ListTasks on "*" narrowed by the `ecs:cluster` condition
 * (a ListTasks without containerInstance names no container instance).
 */
const WILDCARD_BY_AWS_EXAMPLE = new Set(['ecs:ListTasks']);

/** Params that turn every optional grant on, to list all grants. */
const ALL_OPTIONAL_GRANTS = { MeshNamesZoneId: 'Z0123456789ABCDEFGHIJ', CrossAccountRoleName: 'ecs-mesh-reader', MemberRoleNames: '444455556666=payments-mesh-reader', MeshK8sTokenSecretId: 'mesh/token', EcsClusters: '', TokenSecretPrefix: 'ecs-mesh', MeshNetworks: 'vpc-0abc1234=net-a' };

/** The member account's template (hub and spoke), and the params a member deploys it with. */
const MEMBER_TEMPLATE = readCloudFormationYaml(join(root, 'deploy', 'member-account-role.yaml'));
const HUB_BUS = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`;
const MEMBER_PARAMS = { RoleName: 'ecs-mesh-reader', HubEventBusArn: HUB_BUS };
/** The account a request acts in: the one its resource (or its cluster) names; ours for a name without one. */
const accountOf = (request: IamRequest) => /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(request.resource)?.[1] ?? /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(request.context['ecs:cluster'] ?? '')?.[1] ?? ACCOUNT;

/** The `*`-resource table of docs/deploy.md's "Least privilege" section: action → reason. */
function documentedWildcardTable(): Map<string, string> {
  const guide = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
  const section = guide.split(/^## Least privilege$/m)[1]?.split(/^#{1,3} /m)[0] ?? '';
  const rows = [...section.matchAll(/^\| `([a-z0-9-]+:[A-Za-z]+)` \|([^|]+)\|/gm)];
  return new Map(rows.map((m) => [m[1]!, m[2]!.trim()]));
}

interface Lines {
  calls: RecordedCall[];
  files: Set<string>;
}
function readCallLog(): Lines {
  if (!existsSync(CALL_LOG)) throw new Error(`${CALL_LOG} is missing: run the integration tests first (npm test runs them before this check)`);
  const lines = readFileSync(CALL_LOG, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as RecordedCall | FileMarker);
  return {
    calls: lines.filter((l): l is RecordedCall => l.kind === 'call'),
    files: new Set(lines.filter((l): l is FileMarker => l.kind === 'file').map((l) => l.file)),
  };
}

async function packageTemplate(dir: string): Promise<Template> {
  const env = { ...process.env };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL']) delete env[name];
  // The params a real deploy sets (see serverless.yml); the roles' Refs are resolved per call below.
  const params = ['meshK8sUrl=https://mesh.example.com', 'meshK8sAuth=bearer', 'meshK8sTokenSecretId=mesh/token', 'crossAccountRoleName=ecs-mesh-reader', 'authAudience=test-deployment', 'authAllowedAccounts=123456789012'];
  await promisify(execFile)(process.execPath, ['scripts/package.mjs', '--stage', 'ci', '--region', 'us-east-1', '--package', dir, ...params.map((p) => `--param=${p}`)], {
    cwd: root,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

async function allowed(roleArn: string, statements: Statement[], request: IamRequest, account = ACCOUNT): Promise<boolean> {
  const result = await runSimulation(
    {
      request: { principal: `${roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/test`, action: request.action, resource: { resource: request.resource, accountId: account }, contextVariables: request.context },
      identityPolicies: [{ name: 'role', policy: { Version: '2012-10-17', Statement: statements } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`iam-simulate refused ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult === 'Allowed';
}

/** One distinct thing a function asked IAM for, with what it was resolved against. */
interface Check {
  fn: string;
  call: RecordedCall;
  request: IamRequest;
}
const keyOf = (c: Check) => JSON.stringify([c.fn, c.call.params, c.call.names, c.request]);
const grantKey = (role: string, sid: string | undefined, action: string) => `${role} ${sid ?? '(no Sid)'} ${action}`;

describe('Least privilege: the AWS calls of the integration tests against the generated template', () => {
  let dir: string;
  let template: Template;
  let log: Lines;
  let checks: Check[];
  const exercised = new Set<string>();
  const denied: string[] = [];

  beforeAll(async () => {
    log = readCallLog();
    dir = mkdtempSync(join(tmpdir(), 'ecs-mesh-iam-'));
    template = await packageTemplate(dir);
    const unique = new Map<string, Check>();
    for (const call of log.calls.filter((c) => c.accessKeyId === OWN_ACCESS_KEY))
      for (const request of iamRequestsOf(call)) {
        const check = { fn: call.fn, call, request };
        unique.set(keyOf(check), check);
      }
    checks = [...unique.values()];
    for (const { fn, call, request } of checks) {
      const role = rolePolicy(template, fn, call);
      if (!(await allowed(role.roleArn, role.statements, request))) {
        denied.push(`${fn} (${role.roleId}): ${request.action} on ${request.resource}${Object.keys(request.context).length ? ` ${JSON.stringify(request.context)}` : ''} [${call.file.split('/').pop()}]`);
        continue;
      }
      // Which statements allow it on their own: those grants are exercised.
      for (const statement of role.statements.filter((s) => asArray(s.Action).includes(request.action)))
        if (await allowed(role.roleArn, [statement], request)) exercised.add(grantKey(role.roleId, statement.Sid, request.action));
    }
  }, 300_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('allows every call each function made, and every function made some', () => {
    const fns = new Set(checks.map((c) => c.fn));

    expect(denied, `calls the roles do not allow:\n${denied.join('\n')}`).toEqual([]);
    expect(functionsOf(template).filter((fn) => !fns.has(fn))).toEqual([]);
  });

  it("makes calls with other credentials only where a role was assumed for them, each allowed by the member template's reader role", async () => {
    const foreign = log.calls.filter((c) => c.accessKeyId !== OWN_ACCESS_KEY);
    const refused: string[] = [];

    for (const call of foreign)
      for (const request of iamRequestsOf(call)) {
        // The reader role as deploy/member-account-role.yaml creates it in the account the call acts in.
        const reader = memberRolePolicy(MEMBER_TEMPLATE, 'CrossAccountReaderRole', { params: MEMBER_PARAMS, account: accountOf(request) });
        if (!(await allowed(reader.roleArn, reader.statements, request, accountOf(request)))) refused.push(`${call.fn}: ${request.action} on ${request.resource} ${JSON.stringify(request.context)}`);
      }

    expect(refused, `calls the member's reader role does not allow:\n${refused.join('\n')}`).toEqual([]);
    // The reads the functions make there (task role, task, definition) and the reconciler's listing: nothing else.
    expect(['ECSClient:DescribeTaskDefinitionCommand', 'ECSClient:DescribeTasksCommand', 'ECSClient:ListClustersCommand', 'ECSClient:ListTasksCommand', 'IAMClient:GetRoleCommand']).toEqual(expect.arrayContaining([...new Set(foreign.map((c) => `${c.client}:${c.command}`))]));
  });

  it("narrows the member's reader role to that account's clusters and roles, and its forwarding role to putting events on the hub's bus", async () => {
    const member = '444455556666';
    const reader = memberRolePolicy(MEMBER_TEMPLATE, 'CrossAccountReaderRole', { params: MEMBER_PARAMS, account: member });
    const forwarding = memberRolePolicy(MEMBER_TEMPLATE, 'TaskStateChangeForwardingRole', { params: MEMBER_PARAMS, account: member });
    const listIn = (account: string) => iamRequestsOf({ client: 'ECSClient', command: 'ListTasksCommand', input: { cluster: `arn:aws:ecs:us-east-1:${account}:cluster/payments` } })[0]!;
    const putOn = (bus: string) => ({ action: 'events:PutEvents', resource: bus, context: {} });

    const results = [
      await allowed(reader.roleArn, reader.statements, listIn(member), member),
      await allowed(reader.roleArn, reader.statements, listIn('999999999999'), member),
      await allowed(forwarding.roleArn, forwarding.statements, putOn(HUB_BUS), member),
      await allowed(forwarding.roleArn, forwarding.statements, putOn(`arn:aws:events:us-east-1:${ACCOUNT}:event-bus/other`), member),
      await allowed(forwarding.roleArn, forwarding.statements, putOn(`arn:aws:events:us-east-1:${member}:event-bus/default`), member),
    ];

    expect(results).toEqual([true, false, true, false, false]);
    expect(forwarding.statements.flatMap((st) => asArray(st.Action))).toEqual(['events:PutEvents']);
  });

  it('exercises every grant, but those AWS uses for the function and those listed as not yet exercised', () => {
    const all = functionsOf(template).flatMap((fn) => {
      const role = rolePolicy(template, fn, { params: ALL_OPTIONAL_GRANTS });
      return role.statements.flatMap((s) => asArray(s.Action).map((action) => ({ role: role.roleId, sid: s.Sid, action })));
    });
    const byAws = (g: { role: string; sid?: string }) => USED_BY_AWS.some((u) => u.sid === g.sid && (!u.role || u.role === g.role));

    const unexercised = all.filter((g) => !byAws(g) && !exercised.has(grantKey(g.role, g.sid, g.action))).map((g) => grantKey(g.role, g.sid, g.action));

    console.log(`grants no integration test exercised (${unexercised.length}):\n  ${unexercised.join('\n  ') || '(none)'}`);
    const integrationFiles = readdirSync(join(root, 'test/integration')).filter((f) => f.endsWith('.test.ts'));
    const complete = integrationFiles.every((f) => [...log.files].some((file) => file.endsWith(`/test/integration/${f}`)));
    // Only a run of every integration file can tell what is not exercised.
    if (!complete) return;
    const listed = NOT_EXERCISED.map((g) => ({ key: grantKey(g.role, g.sid, g.action), race: g.race }));
    expect(unexercised.filter((g) => !listed.some((l) => l.key === g))).toEqual([]);
    // A listed grant that the tests now exercise must leave the list.
    expect(listed.filter((l) => !l.race && !unexercised.includes(l.key)).map((l) => l.key)).toEqual([]);
  });

  it("lets the names role change and list its own zone's records only, and no zone's with mesh names off", async () => {
    const onZone = (command: string, zone: string) => iamRequestsOf({ client: 'Route53Client', command, input: { HostedZoneId: zone } })[0]!;
    const role = rolePolicy(template, 'names', { params: { MeshNamesZoneId: 'ZOWNZONE1' } });
    const off = rolePolicy(template, 'names', { params: { MeshNamesZoneId: '' } });

    const results = await Promise.all([
      allowed(role.roleArn, role.statements, onZone('ChangeResourceRecordSetsCommand', '/hostedzone/ZOWNZONE1')),
      allowed(role.roleArn, role.statements, onZone('ListResourceRecordSetsCommand', 'ZOWNZONE1')),
      allowed(role.roleArn, role.statements, onZone('ChangeResourceRecordSetsCommand', 'ZOTHERZONE')),
      allowed(off.roleArn, off.statements, onZone('ChangeResourceRecordSetsCommand', 'ZOWNZONE1')),
    ]);

    expect(results).toEqual([true, true, false, false]);
  });

  const describeIn = (cluster: string) => iamRequestsOf({ client: 'ECSClient', command: 'DescribeTasksCommand', input: { cluster, tasks: ['0f1e2d3c'] } })[0]!;
  const listIn = (cluster: string) => iamRequestsOf({ client: 'ECSClient', command: 'ListTasksCommand', input: { cluster } })[0]!;

  it.each(['taskEvents', 'reconcile'])('evaluates conditions too: with ecsClusters set, %s may DescribeTasks in those clusters only', async (fn) => {
    const role = rolePolicy(template, fn, { params: { EcsClusters: 'prod,staging' } });
    const everyCluster = rolePolicy(template, fn, { params: { EcsClusters: '' } });

    const results = [await allowed(role.roleArn, role.statements, describeIn('staging')), await allowed(role.roleArn, role.statements, describeIn('dev')), await allowed(everyCluster.roleArn, everyCluster.statements, describeIn('dev'))];

    expect(results).toEqual([true, false, true]);
  });

  it("narrows the reconciler's ListTasks to ecsClusters too, and to this account's clusters always", async () => {
    const role = rolePolicy(template, 'reconcile', { params: { EcsClusters: 'prod,staging' } });
    const everyCluster = rolePolicy(template, 'reconcile', { params: { EcsClusters: '' } });
    const elsewhere = 'arn:aws:ecs:us-east-1:999999999999:cluster/prod';

    const results = [
      await allowed(role.roleArn, role.statements, listIn('prod')),
      await allowed(role.roleArn, role.statements, listIn('dev')),
      await allowed(role.roleArn, role.statements, listIn(elsewhere)),
      await allowed(everyCluster.roleArn, everyCluster.statements, listIn('dev')),
      await allowed(everyCluster.roleArn, everyCluster.statements, listIn(elsewhere)),
    ];

    expect(results).toEqual([true, false, false, true, false]);
  });

  it('grants no "*" action, and a "*" resource only to actions without resource-level permissions, each listed in docs/deploy.md', async () => {
    const statements = [
      ...functionsOf(template).flatMap((fn) => rolePolicy(template, fn, { params: ALL_OPTIONAL_GRANTS }).statements.map((s) => ({ fn, s }))),
      // The member template's roles too (deploy/member-account-role.yaml).
      ...['CrossAccountReaderRole', 'TaskStateChangeForwardingRole'].flatMap((id) => memberRolePolicy(MEMBER_TEMPLATE, id, { params: MEMBER_PARAMS }).statements.map((s) => ({ fn: `member ${id}`, s }))),
    ];
    const wildcardActions = new Set<string>();

    for (const { fn, s } of statements) {
      expect(s.Effect, `${fn}: ${JSON.stringify(s)}`).toBe('Allow');
      expect(s).not.toHaveProperty('NotAction');
      expect(s).not.toHaveProperty('NotResource');
      for (const action of asArray(s.Action)) expect(action, `${fn}: ${action}`).not.toContain('*');
      if (asArray(s.Resource).includes('*'))
        for (const action of asArray(s.Action)) {
          const [service, name] = action.split(':') as [string, string];
          if (!WILDCARD_BY_AWS_EXAMPLE.has(action))
            expect(await isWildcardOnlyAction(service, name), `${fn}: ${action} on "*" but it supports resource-level permissions`).toBe(true);
          wildcardActions.add(action);
        }
    }

    expect([...documentedWildcardTable().keys()].sort()).toEqual([...wildcardActions].sort());
  });
});
