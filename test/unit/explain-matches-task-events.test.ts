/**
 * `explain` must give the decision task-events gives for the same inputs. Policies and
 * identities are generated; task-events' decision comes from decideEnrollment over a task
 * event, explain's from the HTTP request body an operator would send, parsed at the edge.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideEnrollment } from '../../shared/app/decide-enrollment.js';
import { explainDecision, type ExplainDeps } from '../../shared/app/explain-decision.js';
import { toStoredPolicy } from '../../shared/adapters/dynamodb-policy-store.js';
import { parseExplainRequest } from '../../functions/explain/request.js';
import type { TaskStateChangeEvent } from '../../shared/core/task.js';
import { aGroup } from '../fixtures/builders.js';

const ACCOUNTS = ['111111111111', '222222222222'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const CLUSTERS = ['prod', 'staging'];
const ROLES = ['ratings', 'reviews'];
const TAGS = { team: ['ratings', 'reviews'], env: ['prod', 'dev'] };
const APPS = ['ratings', 'reviews'];

const subset = <T>(values: T[]) => fc.subarray(values);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const workload = fc.record(
  {
    accounts: fc.subarray(ACCOUNTS, { minLength: 1 }),
    regions: maybe(subset(REGIONS)),
    zones: maybe(subset(REGIONS.flatMap((r) => [`${r}a`, `${r}b`]))),
    ecs: maybe(
      fc.record(
        {
          clusters: maybe(subset(CLUSTERS)),
          iamRoleNames: maybe(subset(ROLES)),
          iamRoleTags: maybe(fc.record({ team: subset(TAGS.team), env: subset(TAGS.env) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ['accounts'] },
);
const selector = fc.oneof(
  fc.constant({}),
  fc.constantFrom(...APPS).map((app) => ({ matchLabels: { app } })),
  fc.constantFrom('In', 'NotIn').chain((operator) => subset(APPS).filter((v) => v.length > 0).map((values) => ({ matchExpressions: [{ key: 'app', operator, values }] }))),
  fc.constantFrom('Exists', 'DoesNotExist').map((operator) => ({ matchExpressions: [{ key: 'version', operator }] })),
);
const policy = (name: string) =>
  fc.record({
    apiVersion: fc.constantFrom('ecsmesh.io/v1alpha1', 'authorization.onboarding.tetrate.io/v1alpha1'),
    kind: fc.constant('OnboardingPolicy'),
    metadata: fc.constant({ name, namespace: 'bookinfo' }),
    spec: fc.record({
      allow: fc.array(fc.record({ workloads: fc.array(workload.map((aws) => ({ aws })), { minLength: 1, maxLength: 2 }), onboardTo: fc.array(selector.map((s) => ({ workloadGroupSelector: s })), { minLength: 1, maxLength: 2 }) }), { maxLength: 2 }),
    }),
  });
const policies = fc.uniqueArray(fc.constantFrom('a-policy', 'b-policy', 'c-policy'), { maxLength: 3 }).chain((names) => fc.tuple(...names.map(policy)));

const scenario = fc.record({
  account: fc.constantFrom(...ACCOUNTS),
  region: fc.constantFrom(...REGIONS),
  zoneSuffix: fc.constantFrom('a', 'b'),
  cluster: fc.constantFrom(...CLUSTERS),
  role: fc.constantFrom(...ROLES),
  roleTags: fc.record({ team: fc.constantFrom(...TAGS.team), env: fc.constantFrom(...TAGS.env) }, { requiredKeys: [] }),
  labels: fc.record({ app: fc.constantFrom(...APPS), version: fc.constant('v1') }, { requiredKeys: ['app'] }),
  documents: policies,
  tagsGiven: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function world(s: Scenario) {
  const roleArn = `arn:aws:iam::${s.account}:role/${s.role}`;
  const taskArn = `arn:aws:ecs:${s.region}:${s.account}:task/${s.cluster}/0123456789abcdef0123456789abcdef`;
  const clusterArn = `arn:aws:ecs:${s.region}:${s.account}:cluster/${s.cluster}`;
  const zone = `${s.region}${s.zoneSuffix}`;
  const stored = s.documents.map((doc) => toStoredPolicy({ namespace: 'bookinfo', name: doc.metadata.name, revision: 1, document: JSON.stringify(doc) }));
  const deps: ExplainDeps = {
    tasks: {
      describeTasks: async () => new Map(),
      describeTaskDefinition: async (arn) => ({ taskDefinitionArn: arn, networkMode: 'awsvpc', taskRoleArn: roleArn }),
    },
    roles: { getRole: async (arn) => (arn === roleArn ? { arn, name: s.role, roleId: 'AROAEXAMPLE', accountId: s.account, tags: s.roleTags } : undefined) },
    policies: { listPolicies: async () => stored },
    mesh: {
      getWorkloadGroup: async (ref) => (ref.namespace === 'bookinfo' && ref.name === 'ratings' ? aGroup({ labels: s.labels }) : undefined),
    },
  };
  const event: TaskStateChangeEvent = {
    eventId: 'e1', account: s.account, region: s.region, time: '', taskId: '0123456789abcdef0123456789abcdef', clusterName: s.cluster, version: 3,
    taskArn, clusterArn, taskDefinitionArn: `arn:aws:ecs:${s.region}:${s.account}:task-definition/ratings:1`, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', launchType: 'FARGATE', availabilityZone: zone, privateIpv4: '10.0.0.9',
  };
  const task = { ...event, tags: { 'ecsmesh.io/workload-group': 'bookinfo/ratings' } };
  // What an operator would send for this task's identity; with tagsGiven, the tags instead of IAM's.
  const body = {
    identity: { account: s.account, region: s.region, zone, cluster: s.cluster, launchType: 'FARGATE', roleArn, ...(s.tagsGiven ? { roleTags: s.roleTags } : {}) },
    group: 'bookinfo/ratings',
  };
  return { deps, event, task, body, stored };
}

describe('explain matches task-events', () => {
  it('gives the same decision, policy and rule for generated policies and identities', async () => {
    let allowed = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { deps, event, task, body, stored } = world(s);
        expect(stored.every((p) => p.valid), JSON.stringify(stored)).toBe(true);
        const taskEvents = await decideEnrollment(event, task, deps);
        const parsed = parseExplainRequest(JSON.parse(JSON.stringify(body)));
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
        const explained = await explainDecision(parsed.request, deps);

        expect(explained.allowed).toBe(taskEvents.outcome === 'enrolled');
        if (taskEvents.outcome === 'enrolled') {
          allowed++;
          expect({ policy: explained.policy, rule: explained.rule }).toEqual({ policy: taskEvents.policy, rule: taskEvents.rule });
          expect(explained.trace).toEqual(taskEvents.trace);
        } else {
          expect(explained.reason).toBe(taskEvents.reason);
          expect(explained.detail).toBe(taskEvents.detail);
          expect(explained.trace).toEqual(taskEvents.trace);
        }
      }),
      { numRuns: 400 },
    );
    // The generators must reach both answers, or the comparison proves little.
    expect(allowed).toBeGreaterThan(20);
  });

  it('explains a task ARN with the same decision as task-events', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { deps, event, task } = world(s);
        const withTask: ExplainDeps = { ...deps, tasks: { ...deps.tasks, describeTasks: async () => new Map([[event.taskId, task]]) } };
        const parsed = parseExplainRequest({ taskArn: event.taskArn });
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
        const explained = await explainDecision(parsed.request, withTask);
        const taskEvents = await decideEnrollment(event, task, deps);
        expect(explained.allowed).toBe(taskEvents.outcome === 'enrolled');
        expect(explained.reason).toBe(taskEvents.outcome === 'enrolled' ? 'POLICY_ALLOWED' : taskEvents.reason);
        expect(explained.trace).toEqual(taskEvents.trace ?? []);
      }),
      { numRuns: 150 },
    );
  });
});
