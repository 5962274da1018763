// What the TSB → ours table of docs/onboard-a-service.md promises, on the TSB-shaped document the agent e2e applies
// (test/fixtures/tsb-onboarding-policy.yaml).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { evaluatePolicy, type GroupFacts } from '../../shared/core/policy.js';
import { validatePolicyDocument } from '../../shared/core/policy-validation.js';
import { anIdentity } from '../fixtures/builders.js';

const document = parseYaml(readFileSync(new URL('../fixtures/tsb-onboarding-policy.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
const group: GroupFacts = { namespace: 'tsb-bookinfo', name: 'ratings', labels: { app: 'ratings' } };

describe('a TSB OnboardingPolicy', () => {
  it('is valid as it is, in its own apiVersion', () => {
    const validation = validatePolicyDocument(document, { namespace: 'tsb-bookinfo', name: 'allow-ratings-ecs-tasks' });

    expect(validation).toMatchObject({ ok: true, policy: { apiVersion: 'authorization.onboarding.tetrate.io/v1alpha1' } });
  });

  it('matches ECS tasks by cluster and role name, and its EC2 rule matches no task', () => {
    const validation = validatePolicyDocument(document);
    if (!validation.ok) throw new Error('invalid fixture');
    const evaluate = (roleName: string, clusterName = 'prod') => evaluatePolicy([{ name: 'tsb', policy: validation.policy }], anIdentity({ roleName, roleTags: {}, clusterName }), group);

    expect(evaluate('tsb-ratings-task')).toMatchObject({ allowed: true, rule: 0 });
    expect(evaluate('other-task').allowed).toBe(false);
    // The EC2 rule names the same role and allows any group: were it to match a task, this would pass.
    expect(evaluate('tsb-ratings-task', 'staging').allowed).toBe(false);
  });

  it('refuses a jwt matcher (TSB on-premise workloads) at its pointer', () => {
    const withJwt = structuredClone(document) as { spec: { allow: { workloads: unknown[] }[] } };
    withJwt.spec.allow[0]!.workloads = [{ jwt: { issuer: 'https://issuer.example' } }];

    const validation = validatePolicyDocument(withJwt);

    expect(validation.ok).toBe(false);
    expect(validation.ok ? [] : validation.problems.map((p) => p.pointer)).toContain('/spec/allow/0/workloads/0/jwt');
  });
});
