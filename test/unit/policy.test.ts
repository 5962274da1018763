import { describe, expect, it } from 'vitest';
import { evaluatePolicy, type EvaluatedPolicy, type GroupFacts } from '../../shared/core/policy.js';
import { OnboardingPolicySchema, type LabelSelector } from '../../shared/core/schemas.js';
import { aPolicy, anIdentity, ACCOUNT } from '../fixtures/builders.js';

const group: GroupFacts = { namespace: 'bookinfo', name: 'ratings', labels: { app: 'ratings' } };
const named = (...policies: ReturnType<typeof aPolicy>[]): EvaluatedPolicy[] => policies.map((policy) => ({ name: policy.metadata.name, policy }));

describe('evaluatePolicy', () => {
  it('allows a role whose tags, account, region and cluster all match', () => {
    const decision = evaluatePolicy(named(aPolicy()), anIdentity(), group);

    expect(decision).toEqual({ allowed: true, policy: 'allow-ratings', rule: 0, misses: [] });
  });

  it.each([
    { case: 'role tag missing', identity: anIdentity({ roleTags: {} }), why: 'role tag team missing' },
    { case: 'role tag value not listed', identity: anIdentity({ roleTags: { team: 'reviews' } }), why: 'role tag team=reviews not in [ratings]' },
    { case: 'another account', identity: anIdentity({ accountId: '210987654321' }), why: 'account 210987654321 not in' },
    { case: 'another region', identity: anIdentity({ region: 'eu-west-1' }), why: 'region eu-west-1 not in [us-east-1]' },
    { case: 'another cluster', identity: anIdentity({ clusterName: 'staging' }), why: 'cluster staging not in [prod]' },
  ])('denies when $case and says why', ({ identity, why }) => {
    const decision = evaluatePolicy(named(aPolicy()), identity, group);

    expect(decision.allowed).toBe(false);
    expect(JSON.stringify(decision)).toContain(why);
  });

  it('denies a group whose labels the selector does not match', () => {
    const decision = evaluatePolicy(named(aPolicy()), anIdentity(), { ...group, labels: { app: 'reviews' } });

    expect(decision).toMatchObject({ allowed: false, misses: [{ policy: 'allow-ratings', reasons: [expect.stringContaining('group label app=reviews is not ratings')] }] });
  });

  it('never lets a policy grant a group of another namespace', () => {
    const decision = evaluatePolicy(named(aPolicy({ namespace: 'other' })), anIdentity(), group);

    expect(decision).toMatchObject({ allowed: false, misses: [{ reasons: ['policy namespace other is not bookinfo'] }] });
  });

  it('treats absent and empty lists as matching anything', () => {
    const open = aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], regions: [], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] });

    expect(evaluatePolicy(named(open), anIdentity({ region: 'ap-south-1', clusterName: 'any' }), group).allowed).toBe(true);
  });

  it('does not match an EC2-only workload matcher against an ECS task', () => {
    const ec2Only = aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ec2: {} } }], onboardTo: [{ workloadGroupSelector: {} }] }] });

    expect(evaluatePolicy(named(ec2Only), anIdentity(), group)).toMatchObject({ allowed: false, misses: [{ reasons: [expect.stringContaining('not an ECS matcher')] }] });
  });

  it('allows through the second rule and names it', () => {
    const policy = aPolicy({
      allow: [
        { workloads: [{ aws: { accounts: ['999999999999'], ecs: {} } }], onboardTo: [{ workloadGroupSelector: {} }] },
        { workloads: [{ aws: { accounts: [ACCOUNT], ecs: { iamRoleNames: ['ratings-task'] } } }], onboardTo: [{ workloadGroupSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['ratings'] }] } }] },
      ],
    });

    expect(evaluatePolicy(named(policy), anIdentity(), group)).toEqual({ allowed: true, policy: 'allow-ratings', rule: 1, misses: [] });
  });

  it('evaluates a Tetrate-apiVersion document the same way', () => {
    const tetrate = OnboardingPolicySchema.parse({ ...aPolicy(), apiVersion: 'authorization.onboarding.tetrate.io/v1alpha1' });

    expect(evaluatePolicy(named(tetrate), anIdentity(), group).allowed).toBe(true);
    expect(evaluatePolicy(named(tetrate), anIdentity({ roleTags: {} }), group).allowed).toBe(false);
  });

  it('reports a stored invalid policy instead of trusting it', () => {
    const decision = evaluatePolicy([{ name: 'broken', problem: '/spec: Required' }], anIdentity(), group);

    expect(decision).toEqual({ allowed: false, misses: [{ policy: 'broken', reasons: ['stored policy is invalid: /spec: Required'] }] });
  });

  it('expresses Kong Mesh role-tag conventions with iamRoleTags', () => {
    const kong = aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { iamRoleTags: { 'kuma.io/type': ['dataplane'], 'kuma.io/mesh': [] } } } }], onboardTo: [{ workloadGroupSelector: {} }] }] });

    expect(evaluatePolicy(named(kong), anIdentity({ roleTags: { 'kuma.io/type': 'dataplane', 'kuma.io/mesh': 'default' } }), group).allowed).toBe(true);
    expect(evaluatePolicy(named(kong), anIdentity({ roleTags: { 'kuma.io/type': 'dataplane' } }), group).allowed).toBe(false);
  });
});

describe('evaluatePolicy with keys named like Object.prototype members', () => {
  const requireTag = (key: string, values: string[] = []) =>
    aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: { iamRoleTags: Object.fromEntries([[key, values]]) } } }], onboardTo: [{ workloadGroupSelector: {} }] }] });
  const selectGroup = (selector: LabelSelector) => aPolicy({ allow: [{ workloads: [{ aws: { accounts: [ACCOUNT], ecs: {} } }], onboardTo: [{ workloadGroupSelector: selector }] }] });
  const keys = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', '__defineGetter__'];

  it.each(keys)('denies a role without tags when the policy requires a role tag %s', (key) => {
    const decision = evaluatePolicy(named(requireTag(key)), anIdentity({ roleTags: {} }), group);

    expect(decision).toMatchObject({ allowed: false, misses: [{ reasons: [`rule 0: workloads: role tag ${key} missing`] }] });
  });

  it.each(keys)('allows a role that does carry the required tag %s', (key) => {
    const decision = evaluatePolicy(named(requireTag(key, ['yes'])), anIdentity({ roleTags: Object.fromEntries([[key, 'yes']]) }), group);

    expect(decision.allowed).toBe(true);
  });

  it.each(keys)('denies a group without labels for %s Exists', (key) => {
    const decision = evaluatePolicy(named(selectGroup({ matchExpressions: [{ key, operator: 'Exists' }] })), anIdentity(), { ...group, labels: {} });

    expect(decision.allowed).toBe(false);
  });

  it.each(keys)('allows a group without labels for %s DoesNotExist', (key) => {
    const decision = evaluatePolicy(named(selectGroup({ matchExpressions: [{ key, operator: 'DoesNotExist' }] })), anIdentity(), { ...group, labels: {} });

    expect(decision.allowed).toBe(true);
  });

  it('says a label named like a prototype member is absent, not a function', () => {
    const decision = evaluatePolicy(named(selectGroup({ matchLabels: { constructor: 'x' } })), anIdentity(), { ...group, labels: {} });

    expect(decision).toMatchObject({ allowed: false, misses: [{ reasons: ['rule 0: onboardTo: group label constructor=(absent) is not x'] }] });
  });
});

describe('OnboardingPolicySchema', () => {
  it.each([
    { case: 'wildcard account', patch: { accounts: ['*'] } },
    { case: 'short account id', patch: { accounts: ['12345'] } },
    { case: 'wildcard cluster', patch: { accounts: [ACCOUNT], ecs: { clusters: ['prod-*'] } } },
    { case: 'unknown field', patch: { accounts: [ACCOUNT], color: 'red' } },
  ])('refuses a $case', ({ patch }) => {
    const doc = aPolicy({ allow: [{ workloads: [{ aws: patch as never }], onboardTo: [{ workloadGroupSelector: {} }] }] });

    expect(OnboardingPolicySchema.safeParse(doc).success).toBe(false);
  });
});
