/**
 * The policy API and explain over HTTP, as an operator reaches them: SigV4-signed requests to
 * the local HTTP API (IAM authorization emulated as API Gateway does it), the real handlers,
 * DynamoDB on moto, and the enrollment pipeline reading what the API wrote.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { stringify } from 'yaml';
import { createPoliciesHandler } from '../../functions/policies/handler.js';
import { createExplainHandler } from '../../functions/explain/handler.js';
import { asHandler } from '../support/aws-call-recorder.js';
import { DynamoDbPolicyAdminStore } from '../../shared/adapters/dynamodb-policy-admin-store.js';
import { DynamoDbPolicyStore } from '../../shared/adapters/dynamodb-policy-store.js';
import { EcsTaskDirectory } from '../../shared/adapters/ecs-task-directory.js';
import { startHttpApi, type HttpHandler } from '../../local/http-api.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import { signedFetch } from '../../cli/api/signed-fetch.js';
import { aGroup, aPolicy } from '../fixtures/builders.js';
import { INVALID_POLICIES, brokenPolicy } from '../fixtures/invalid-policies.js';
import { ACCOUNT, Pipeline } from '../support/pipeline.js';

let p: Pipeline;
let server: Server;
let base: string;
const credentials = { accessKeyId: LOCAL_OPERATOR.accessKeyId, secretAccessKey: LOCAL_OPERATOR.secretAccessKey };

async function call(method: string, path: string, options: { body?: unknown; yaml?: boolean; headers?: Record<string, string>; unsigned?: boolean } = {}) {
  const body = options.body === undefined ? undefined : options.yaml ? stringify(options.body) : JSON.stringify(options.body);
  const headers = { ...(body !== undefined ? { 'content-type': options.yaml ? 'application/yaml' : 'application/json' } : {}), ...options.headers };
  const url = `${base}${path}`;
  const res = options.unsigned
    ? await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) })
    : await signedFetch(url, { method, headers, ...(body !== undefined ? { body } : {}) }, { region: 'us-east-1', credentials });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get('etag'), body: (text ? JSON.parse(text) : {}) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const policyPath = (name: string, ns = 'bookinfo') => `/v1/namespaces/${ns}/policies/${name}`;

/** A valid policy whose annotations repeat one `bytes`-long scalar `uses` more times through YAML aliases. */
function aliasedScalar(bytes: number, uses: number): string {
  const aliases = Array.from({ length: uses }, (_, i) => `    a${i + 1}: *big`);
  return ['apiVersion: ecsmesh.io/v1alpha1', 'kind: OnboardingPolicy', 'metadata:', '  name: allow-ratings', '  namespace: bookinfo', '  annotations:', `    a0: &big ${'x'.repeat(bytes)}`, ...aliases, 'spec: { allow: [] }', ''].join('\n');
}

/** `levels` anchors, each a list of `width` aliases of the one before: width^levels scalars once expanded. */
function nestedAliases(levels: number, width: number): string {
  const lines = ['apiVersion: ecsmesh.io/v1alpha1', 'kind: OnboardingPolicy', 'metadata: { name: allow-ratings, namespace: bookinfo }', 'spec: { allow: [] }', 'l0: &l0 lol'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  p = await Pipeline.start('-policy-api');
  const store = new DynamoDbPolicyAdminStore(p.clients.dynamo, p.stack.policyTable, p.stack.policyAuditTable);
  const policies = asHandler(p.scope('policies'), createPoliciesHandler(store, new Logger({ logLevel: 'SILENT' }))) as unknown as HttpHandler;
  const explain = asHandler(p.scope('explain'), createExplainHandler({ ...p.deps, tasks: new EcsTaskDirectory(p.clients.ecs), policies: new DynamoDbPolicyStore(p.clients.dynamo, p.stack.policyTable, 0) }, new Logger({ logLevel: 'SILENT' }))) as unknown as HttpHandler;
  server = await startHttpApi(
    [
      { method: 'GET', path: '/v1/namespaces/{namespace}/policies', handler: policies, auth: 'iam' },
      { method: 'GET', path: '/v1/namespaces/{namespace}/policies/{name}', handler: policies, auth: 'iam' },
      { method: 'PUT', path: '/v1/namespaces/{namespace}/policies/{name}', handler: policies, auth: 'iam' },
      { method: 'DELETE', path: '/v1/namespaces/{namespace}/policies/{name}', handler: policies, auth: 'iam' },
      { method: 'GET', path: '/v1/namespaces/{namespace}/policies/{name}/history', handler: policies, auth: 'iam' },
      { method: 'POST', path: '/v1/explain', handler: explain, auth: 'iam' },
    ],
    0,
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.k8s.seed(aGroup() as unknown as Parameters<typeof p.k8s.seed>[0]);
});

afterAll(async () => {
  server?.close();
  await p?.stop();
});

describe('policy API: create, read, update, delete, history', () => {
  const v1 = aPolicy({ name: 'crud' });
  const v2 = aPolicy({ name: 'crud', allow: [{ ...v1.spec.allow[0]!, onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'reviews' } } }] }] });

  it('creates only with If-None-Match: *, and answers the revision as ETag', async () => {
    const created = await call('PUT', policyPath('crud'), { body: v1, headers: { 'if-none-match': '*' } });
    expect(created).toMatchObject({ status: 201, etag: '"1"', body: { change: 'created', revision: 1, valid: true, updatedBy: LOCAL_OPERATOR.userArn, policy: v1 } });

    const again = await call('PUT', policyPath('crud'), { body: v1, headers: { 'if-none-match': '*' } });
    expect(again).toMatchObject({ status: 412, etag: '"1"', body: { reason: 'PRECONDITION_FAILED', currentRevision: 1 } });
  });

  it('reads one policy with its ETag, and lists the namespace', async () => {
    expect(await call('GET', policyPath('crud'))).toMatchObject({ status: 200, etag: '"1"', body: { namespace: 'bookinfo', name: 'crud', revision: 1, policy: v1 } });
    const list = await call('GET', '/v1/namespaces/bookinfo/policies');
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { name: string }) => i.name)).toContain('crud');
    expect(await call('GET', '/v1/namespaces/empty/policies')).toMatchObject({ status: 200, body: { items: [], count: 0 } });
    expect(await call('GET', policyPath('missing'))).toMatchObject({ status: 404, body: { reason: 'POLICY_NOT_FOUND' } });
  });

  it('updates with the current ETag (as YAML), refuses a stale one and keeps the winner', async () => {
    expect(await call('PUT', policyPath('crud'), { body: v2, yaml: true, headers: { 'if-match': '"1"' } })).toMatchObject({ status: 200, etag: '"2"', body: { change: 'updated', revision: 2 } });

    const stale = await call('PUT', policyPath('crud'), { body: v1, headers: { 'if-match': '"1"' } });
    expect(stale).toMatchObject({ status: 412, etag: '"2"', body: { reason: 'PRECONDITION_FAILED', currentRevision: 2 } });
    expect(await call('GET', policyPath('crud'))).toMatchObject({ etag: '"2"', body: { policy: v2 } });
  });

  it('lets exactly one of two concurrent writers with the same ETag win', async () => {
    const a = aPolicy({ name: 'crud', allow: [{ ...v2.spec.allow[0]!, onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'a' } } }] }] });
    const b = aPolicy({ name: 'crud', allow: [{ ...v2.spec.allow[0]!, onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'b' } } }] }] });
    const results = await Promise.all([a, b].map((doc) => call('PUT', policyPath('crud'), { body: doc, headers: { 'if-match': '"2"' } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.find((r) => r.status === 200)!.body.policy;
    expect(await call('GET', policyPath('crud'))).toMatchObject({ etag: '"3"', body: { policy: winner } });
    // Put v2 back for the rest of the story.
    expect((await call('PUT', policyPath('crud'), { body: v2, headers: { 'if-match': '"3"' } })).status).toBe(200);
  });

  it('does not bump the revision for an unchanged document', async () => {
    expect(await call('PUT', policyPath('crud'), { body: v2, headers: { 'if-match': '"4"' } })).toMatchObject({ status: 200, etag: '"4"', body: { change: 'unchanged', revision: 4 } });
  });

  it('deletes only with the current ETag', async () => {
    expect(await call('DELETE', policyPath('crud'), { headers: { 'if-match': '"3"' } })).toMatchObject({ status: 412, body: { currentRevision: 4 } });
    expect(await call('DELETE', policyPath('crud'), { headers: { 'if-match': '"4"' } })).toMatchObject({ status: 200, body: { deleted: true, revision: 5 } });
    expect((await call('GET', policyPath('crud'))).status).toBe(404);
    expect(await call('DELETE', policyPath('crud'))).toMatchObject({ status: 404, body: { reason: 'POLICY_NOT_FOUND' } });
  });

  it('keeps who changed what and when, newest first, across the delete', async () => {
    const history = await call('GET', `${policyPath('crud')}/history`);
    expect(history.status).toBe(200);
    const entries = history.body.items as { revision: number; action: string; actor: string; at: string; before: unknown; after: unknown }[];
    expect(entries.map((e) => [e.revision, e.action])).toEqual([[5, 'delete'], [4, 'update'], [3, 'update'], [2, 'update'], [1, 'create']]);
    expect(entries.every((e) => e.actor === LOCAL_OPERATOR.userArn && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(entries[0]).toMatchObject({ before: v2, after: null });
    expect(entries[3]).toMatchObject({ before: v1, after: v2 });
    expect(entries[4]).toMatchObject({ before: null, after: v1 });
    expect(await call('GET', `${policyPath('never')}/history`)).toMatchObject({ status: 404, body: { reason: 'POLICY_NOT_FOUND' } });
  });

  it('continues revisions after a delete, so an ETag from before never matches the new policy', async () => {
    expect(await call('PUT', policyPath('crud'), { body: v1, headers: { 'if-match': '"1"' } })).toMatchObject({ status: 412 });
    expect(await call('PUT', policyPath('crud'), { body: v1, headers: { 'if-none-match': '*' } })).toMatchObject({ status: 201, etag: '"6"' });
  });
});

describe('policy API: invalid documents', () => {
  it.each(INVALID_POLICIES)('refuses $case with the exact pointers of its problems', async (row) => {
    const res = await call('PUT', policyPath('allow-ratings'), { body: brokenPolicy(row), headers: { 'if-none-match': '*' } });

    expect(res.status).toBe(422);
    expect(res.body.reason).toBe('INVALID_POLICY');
    const problems = res.body.problems as { pointer: string; message: string }[];
    expect(problems.map((q) => q.pointer)).toEqual(row.problems.map(([pointer]) => pointer));
    row.problems.forEach(([, message], i) => expect(problems[i]!.message).toContain(message));
    expect((await call('GET', policyPath('allow-ratings'))).status).toBe(404);
  });

  it.each([
    { case: 'a body that is not JSON', body: '{"apiVersion":', type: 'application/json', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'JSON repeating a key', body: '{"kind":"OnboardingPolicy","kind":"X"}', type: 'application/json', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'YAML repeating a key', body: 'kind: OnboardingPolicy\nkind: X\n', type: 'application/yaml', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'two YAML documents', body: 'a: 1\n---\nb: 2\n', type: 'application/yaml', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'an empty body', body: '', type: 'application/json', status: 400, reason: 'MALFORMED_BODY' },
    { case: 'an unsupported media type', body: 'x', type: 'text/plain', status: 415, reason: 'UNSUPPORTED_MEDIA_TYPE' },
    { case: 'a body over 64 KiB', body: `# ${'x'.repeat(70_000)}\n`, type: 'application/yaml', status: 413, reason: 'BODY_TOO_LARGE' },
    { case: 'a 9 KB scalar aliased 11 times (100 KB parsed)', body: aliasedScalar(9_000, 11), type: 'application/yaml', status: 413, reason: 'DOCUMENT_TOO_LARGE' },
    { case: 'a 30 KB scalar aliased 11 times', body: aliasedScalar(30_000, 11), type: 'application/yaml', status: 413, reason: 'DOCUMENT_TOO_LARGE' },
    { case: 'a 30 KB scalar aliased 39 times', body: aliasedScalar(30_000, 39), type: 'application/yaml', status: 413, reason: 'DOCUMENT_TOO_LARGE' },
    { case: 'nested aliases (a billion laughs)', body: nestedAliases(9, 9), type: 'application/yaml', status: 413, reason: 'DOCUMENT_TOO_LARGE' },
    { case: 'a YAML alias inside its own anchor', body: 'apiVersion: ecsmesh.io/v1alpha1\nkind: OnboardingPolicy\nmetadata: &m { name: allow-ratings, namespace: bookinfo, labels: *m }\nspec: { allow: [] }\n', type: 'application/yaml', status: 400, reason: 'MALFORMED_BODY' },
  ])('answers $case with $status $reason', async ({ body, type, status, reason }) => {
    const res = await signedFetch(`${base}${policyPath('allow-ratings')}`, { method: 'PUT', headers: { 'content-type': type }, body }, { region: 'us-east-1', credentials });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { reason: string }).reason).toBe(reason);
  });

  it('refuses a YAML document with __proto__ keys at their pointers and stores nothing', async () => {
    const yaml = [
      'apiVersion: ecsmesh.io/v1alpha1',
      'kind: OnboardingPolicy',
      'metadata: { name: allow-ratings, namespace: bookinfo }',
      'spec:',
      '  allow:',
      `  - workloads: [{ aws: { accounts: ['${ACCOUNT}'], ecs: { iamRoleTags: { __proto__: [], team: [ratings] } } } }]`,
      '    onboardTo: [{ workloadGroupSelector: { matchLabels: { app: ratings, __proto__: x } } }]',
    ].join('\n');

    const res = await signedFetch(`${base}${policyPath('allow-ratings')}`, { method: 'PUT', headers: { 'content-type': 'application/yaml', 'if-none-match': '*' }, body: yaml }, { region: 'us-east-1', credentials });

    expect(res.status).toBe(422);
    expect(((await res.json()) as { problems: { pointer: string }[] }).problems.map((q) => q.pointer)).toEqual([
      '/spec/allow/0/onboardTo/0/workloadGroupSelector/matchLabels/__proto__',
      '/spec/allow/0/workloads/0/aws/ecs/iamRoleTags/__proto__',
    ]);
    expect((await call('GET', policyPath('allow-ratings'))).status).toBe(404);
  });

  it('refuses a malformed If-Match and a bad path', async () => {
    expect(await call('PUT', policyPath('x'), { body: aPolicy({ name: 'x' }), headers: { 'if-match': 'abc' } })).toMatchObject({ status: 400, body: { reason: 'INVALID_PRECONDITION' } });
    expect(await call('GET', '/v1/namespaces/Not_A_Label/policies')).toMatchObject({ status: 400, body: { reason: 'INVALID_NAMESPACE' } });
  });
});

describe('IAM authorization', () => {
  it.each([
    ['GET', '/v1/namespaces/bookinfo/policies'],
    ['GET', policyPath('crud')],
    ['PUT', policyPath('crud')],
    ['DELETE', policyPath('crud')],
    ['GET', `${policyPath('crud')}/history`],
    ['POST', '/v1/explain'],
  ])('refuses an unsigned %s %s as API Gateway does', async (method, path) => {
    const res = await call(method, path, { unsigned: true, ...(method === 'PUT' || method === 'POST' ? { body: {} } : {}) });
    expect(res).toEqual({ status: 403, etag: null, body: { message: 'Forbidden' } });
  });

  it('refuses a request signed with the wrong secret', async () => {
    const res = await signedFetch(`${base}/v1/namespaces/bookinfo/policies`, { method: 'GET' }, { region: 'us-east-1', credentials: { ...credentials, secretAccessKey: 'wrong' } });
    expect(res.status).toBe(403);
  });

  it('refuses in the handler itself when no IAM caller reached it (a route deployed without AWS_IAM)', async () => {
    const handler = createPoliciesHandler(new DynamoDbPolicyAdminStore(p.clients.dynamo, p.stack.policyTable, p.stack.policyAuditTable), new Logger({ logLevel: 'SILENT' }));
    const event = { version: '2.0', routeKey: 'GET /v1/namespaces/{namespace}/policies', rawPath: '/', headers: {}, pathParameters: { namespace: 'bookinfo' }, requestContext: { http: { method: 'GET' } } } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
    const res = await handler(event, {} as Context);
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body ?? '{}')).toMatchObject({ reason: 'UNAUTHENTICATED' });
  });
});

describe('explain, and policies taking effect', () => {
  const identity = (roleName: string, roleTags?: Record<string, string>) => ({ account: ACCOUNT, region: 'us-east-1', cluster: 'prod', roleName, ...(roleTags ? { roleTags } : {}) });

  it('a policy written through the API decides the next enrollment at once, and explain agrees with the record', async () => {
    const policy = aPolicy({ name: 'allow-ratings', allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { clusters: ['policy-api'], iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] });
    expect((await call('PUT', policyPath('allow-ratings'), { body: policy, headers: { 'if-none-match': '*' } })).status).toBe(201);
    const cluster = await p.createCluster('policy-api');
    const allowedRole = await p.createRole('policy-api-ratings', { team: 'ratings' });
    const deniedRole = await p.createRole('policy-api-intruder', { team: 'other' });
    const [allowedTask] = await p.runTask(cluster, await p.registerTaskDefinition('policy-api-ratings', { roleArn: allowedRole }), { tags: { 'ecsmesh.io/workload-group': 'bookinfo/ratings' } });
    const [deniedTask] = await p.runTask(cluster, await p.registerTaskDefinition('policy-api-intruder', { roleArn: deniedRole }), { tags: { 'ecsmesh.io/workload-group': 'bookinfo/ratings' } });
    await p.pump();

    const allowedRecord = await p.record(allowedTask!);
    const deniedRecord = await p.record(deniedTask!);
    expect(allowedRecord).toMatchObject({ phase: 'enrolled', policy: 'allow-ratings', rule: 0 });
    expect(deniedRecord).toMatchObject({ phase: 'rejected', reason: 'POLICY_DENIED' });

    const allowed = await call('POST', '/v1/explain', { body: { taskArn: allowedTask } });
    expect(allowed).toMatchObject({ status: 200, body: { allowed: true, reason: 'POLICY_ALLOWED', policy: 'allow-ratings', rule: 0, group: { namespace: 'bookinfo', name: 'ratings' } } });
    expect(allowed.body.trace).toContainEqual({ policy: 'allow-ratings', revision: 1, result: 'allowed', rule: 0, reasons: ['rule 0 matches'] });
    const denied = await call('POST', '/v1/explain', { body: { taskArn: deniedTask } });
    expect(denied).toMatchObject({ status: 200, body: { allowed: false, reason: 'POLICY_DENIED', detail: deniedRecord!.detail } });
    expect(denied.body.trace).toContainEqual(expect.objectContaining({ policy: 'allow-ratings', result: 'no-match', reasons: [expect.stringContaining('role tag team=other not in [ratings]')] }));
  });

  it('explains an identity by role name and tags, allowed and refused', async () => {
    const allowed = await call('POST', '/v1/explain', { body: { identity: { ...identity('anything', { team: 'ratings' }), cluster: 'policy-api' }, group: 'bookinfo/ratings' } });
    expect(allowed).toMatchObject({ status: 200, body: { allowed: true, policy: 'allow-ratings' } });
    const refused = await call('POST', '/v1/explain', { body: { identity: { ...identity('anything', { team: 'ratings' }), cluster: 'staging' }, group: { namespace: 'bookinfo', name: 'ratings' } } });
    expect(refused).toMatchObject({ status: 200, body: { allowed: false, reason: 'POLICY_DENIED' } });
    expect(refused.body.trace).toContainEqual(expect.objectContaining({ policy: 'allow-ratings', reasons: [expect.stringContaining('cluster staging not in [policy-api]')] }));
    // An IAM role looked up by name when no tags are given.
    const looked = await call('POST', '/v1/explain', { body: { identity: { ...identity('policy-api-ratings'), cluster: 'policy-api' }, group: 'bookinfo/ratings' } });
    expect(looked).toMatchObject({ status: 200, body: { allowed: true, identity: { role: { name: 'policy-api-ratings', tags: { team: 'ratings' } } } } });
    const missing = await call('POST', '/v1/explain', { body: { identity: identity('no-such-role'), group: 'bookinfo/ratings' } });
    expect(missing).toMatchObject({ status: 200, body: { allowed: false, reason: 'TASK_ROLE_NOT_FOUND' } });
  });

  it('accepts a TSB-apiVersion document and evaluates it the same', async () => {
    const ours = aPolicy({ name: 'same', namespace: 'tsb-a', allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] });
    const tetrate = { ...structuredClone(ours), apiVersion: 'authorization.onboarding.tetrate.io/v1alpha1' as const, metadata: { name: 'same', namespace: 'tsb-b' } };
    expect((await call('PUT', policyPath('same', 'tsb-a'), { body: ours })).status).toBe(201);
    expect(await call('PUT', policyPath('same', 'tsb-b'), { body: tetrate, yaml: true })).toMatchObject({ status: 201, body: { valid: true, policy: { apiVersion: 'authorization.onboarding.tetrate.io/v1alpha1' } } });
    for (const tags of [{ team: 'ratings' }, { team: 'reviews' }]) {
      const [a, b] = await Promise.all(
        ['tsb-a', 'tsb-b'].map((ns) => call('POST', '/v1/explain', { body: { identity: identity('r', tags), group: `${ns}/ratings`, groupLabels: { app: 'ratings' } } })),
      );
      expect(a!.body.allowed).toBe(tags.team === 'ratings');
      expect({ allowed: b!.body.allowed, policy: b!.body.policy, rule: b!.body.rule, trace: b!.body.trace }).toEqual({ allowed: a!.body.allowed, policy: a!.body.policy, rule: a!.body.rule, trace: a!.body.trace });
    }
  });

  it('refuses role tags and group labels named __proto__ with pointers instead of dropping them', async () => {
    const body = `{"identity":{"account":"${ACCOUNT}","region":"us-east-1","cluster":"prod","roleName":"r","roleTags":{"__proto__":"x"}},"group":"bookinfo/ratings","groupLabels":{"__proto__":"y"}}`;

    const res = await signedFetch(`${base}/v1/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, { region: 'us-east-1', credentials });

    expect(res.status).toBe(422);
    expect(((await res.json()) as { problems: { pointer: string }[] }).problems.map((q) => q.pointer)).toEqual(['/groupLabels/__proto__', '/identity/roleTags/__proto__']);
  });

  it('refuses an explain request whose region, zone or task ARN is longer than AWS allows', async () => {
    const long = `us-${'east'.repeat(1_250)}-1`;
    const byIdentity = await call('POST', '/v1/explain', { body: { identity: { ...identity('r', {}), region: long, zone: `${long}a` }, group: 'bookinfo/ratings' } });
    const task = await call('POST', '/v1/explain', { body: { taskArn: `arn:aws:ecs:${long}:${ACCOUNT}:task/prod/0123456789abcdef` } });

    expect(byIdentity.status).toBe(422);
    expect(byIdentity.body.problems.map((q: { pointer: string }) => q.pointer)).toEqual(['/identity/region', '/identity/zone']);
    expect(task).toMatchObject({ status: 422, body: { problems: [{ pointer: '/taskArn' }] } });
  });

  it('refuses a group named by a string whose namespace or name Kubernetes would not take', async () => {
    for (const group of [`${'a'.repeat(5_000)}/ratings`, `bookinfo/${'r'.repeat(254)}`, 'bookinfo/-ratings']) {
      const res = await call('POST', '/v1/explain', { body: { identity: identity('r', {}), group, groupLabels: {} } });

      expect(res).toMatchObject({ status: 422, body: { problems: [{ pointer: '/group' }] } });
    }
  });

  it('refuses an invalid explain request with pointers', async () => {
    const res = await call('POST', '/v1/explain', { body: { identity: { account: '12', region: 'us-east-1', cluster: 'prod' }, extra: 1 } });
    expect(res.status).toBe(422);
    expect(res.body.problems.map((q: { pointer: string }) => q.pointer)).toEqual(['/extra', '/identity/account', '/identity/roleArn']);
  });
});

describe('keys named like Object.prototype members', () => {
  const ns = 'proto-keys';
  const needsTag = aPolicy({ name: 'needs-constructor-tag', namespace: ns, allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { iamRoleTags: { constructor: [] } } } }], onboardTo: [{ workloadGroupSelector: {} }] }] });
  const needsLabel = aPolicy({ name: 'needs-tostring-label', namespace: ns, allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: {} } }], onboardTo: [{ workloadGroupSelector: { matchExpressions: [{ key: 'toString', operator: 'Exists' }, { key: 'valueOf', operator: 'Exists' }] } }] }] });

  beforeAll(async () => {
    p.k8s.seed(aGroup({ namespace: ns, labels: {} }) as unknown as Parameters<typeof p.k8s.seed>[0]);
    for (const policy of [needsTag, needsLabel]) expect((await call('PUT', policyPath(policy.metadata.name, ns), { body: policy, headers: { 'if-none-match': '*' } })).status).toBe(201);
  });

  it('refuses an identity whose role has no tags and whose group has no labels', async () => {
    const res = await call('POST', '/v1/explain', { body: { identity: { account: ACCOUNT, region: 'us-east-1', cluster: 'prod', roleName: 'untagged', roleTags: {} }, group: `${ns}/ratings`, groupLabels: {} } });

    expect(res).toMatchObject({ status: 200, body: { allowed: false, reason: 'POLICY_DENIED' } });
    expect(res.body.trace).toEqual([
      expect.objectContaining({ policy: 'needs-constructor-tag', result: 'no-match', reasons: ['rule 0: workloads: role tag constructor missing'] }),
      expect.objectContaining({ policy: 'needs-tostring-label', result: 'no-match', reasons: ['rule 0: onboardTo: group label toString fails Exists []'] }),
    ]);
  });

  it('refuses a task whose role has no tags into a group without labels, as task-events decides it', async () => {
    const cluster = await p.createCluster('proto-keys');
    const role = await p.createRole('proto-keys-untagged', {});
    const [task] = await p.runTask(cluster, await p.registerTaskDefinition('proto-keys-untagged', { roleArn: role }), { tags: { 'ecsmesh.io/workload-group': `${ns}/ratings` } });
    await p.pump();

    expect(await p.record(task!)).toMatchObject({ phase: 'rejected', reason: 'POLICY_DENIED' });
    expect(await call('POST', '/v1/explain', { body: { taskArn: task } })).toMatchObject({ status: 200, body: { allowed: false, reason: 'POLICY_DENIED' } });
  });

  it('reads role tags named __proto__ and constructor from IAM as they are', async () => {
    await p.createRole('proto-keys-tagged', Object.fromEntries([['__proto__', 'x'], ['constructor', 'y']]));

    const res = await call('POST', '/v1/explain', { body: { identity: { account: ACCOUNT, region: 'us-east-1', cluster: 'prod', roleName: 'proto-keys-tagged' }, group: `${ns}/ratings` } });

    expect(res.status).toBe(200);
    expect(Object.entries(res.body.identity.role.tags as object).sort()).toEqual([['__proto__', 'x'], ['constructor', 'y']]);
    expect(res.body).toMatchObject({ allowed: true, policy: 'needs-constructor-tag' });
  });
});
