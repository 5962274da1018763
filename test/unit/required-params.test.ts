import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS } from '../../shared/core/token-lifetime.js';

type TemplateParameters = Record<string, { Type: string; Default?: string; MinValue?: number; MaxValue?: number; ConstraintDescription?: string }>;

// The osls plugin is CommonJS (osls loads it with require); its rule table is plain data.
const { missingParams, outOfRangeParams } = createRequire(import.meta.url)('../../deploy/required-params.cjs') as {
  missingParams: (params: Record<string, string>) => string[];
  outOfRangeParams: (parameters: TemplateParameters) => string[];
};

/** A stage's params with every required one set, for one account and no member accounts. */
const complete = { meshK8sUrl: 'https://mesh.example.com', meshK8sAuth: 'bearer', meshK8sTokenSecretId: 'mesh/token', authAudience: 'ci', authAllowedAccounts: '111122223333', crossAccountRoleName: '', meshSubnetIds: '', meshSecurityGroupIds: '' };

describe('required stage params: member accounts', () => {
  it('refuses several allowed accounts without the cross-account role, naming both params', () => {
    const problems = missingParams({ ...complete, authAllowedAccounts: '111122223333,444455556666' });

    expect(problems).toEqual([expect.stringMatching(/^crossAccountRoleName: .*deploy\/member-account-role\.yaml.*authAllowedAccounts names more than one account/)]);
  });

  it.each([
    { case: 'one allowed account', params: {} },
    { case: 'one account listed twice', params: { authAllowedAccounts: '111122223333,111122223333' } },
    { case: 'several accounts with the cross-account role', params: { authAllowedAccounts: '111122223333,444455556666', crossAccountRoleName: 'ecs-mesh-reader' } },
  ])('accepts $case', ({ params }) => {
    expect(missingParams({ ...complete, ...params })).toEqual([]);
  });
});

describe('stage params out of range', () => {
  // serverless.yml's own parameters (CloudFormation's short-form tags such as !Ref left unresolved), with a param's value as osls resolves it.
  const serverlessYml = parse(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8'), { logLevel: 'error', merge: true }) as { params: { default: Record<string, unknown> }; resources: { Parameters: TemplateParameters } };
  const declared = serverlessYml.resources.Parameters;
  const withValue = (name: string, value: string): TemplateParameters => ({ [name]: { ...declared[name]!, Default: value } });

  it('bounds the onboarding token lifetime where the sidecar agent does', () => {
    expect(declared.OnboardingTokenLifetimeSeconds).toMatchObject({ Type: 'Number', MinValue: 60, MaxValue: MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS });
  });

  it.each([
    { case: 'the default hour', value: '3600' },
    { case: 'exactly 30 days', value: String(MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS) },
  ])('accepts an onboarding token lifetime of $case', ({ value }) => {
    expect(outOfRangeParams(withValue('OnboardingTokenLifetimeSeconds', value))).toEqual([]);
  });

  it.each([
    { case: '50 days', value: String(50 * 86_400) },
    { case: 'under a minute', value: '30' },
    { case: 'not a number', value: 'a month' },
  ])('refuses an onboarding token lifetime of $case, saying why', ({ value }) => {
    expect(outOfRangeParams(withValue('OnboardingTokenLifetimeSeconds', value))).toEqual([
      `onboardingTokenLifetimeSeconds: "${value}" is out of range: 60 to 2592000 seconds (30 days), the longest lifetime the sidecar agent schedules; it clamps a later expiry`,
    ]);
  });

  it.each([
    { case: 'one (Lambda refuses under 2)', value: '1' },
    { case: 'more than Lambda allows', value: '1001' },
  ])('refuses a taskEvents concurrency of $case, saying why', ({ value }) => {
    expect(outOfRangeParams(withValue('TaskEventsMaxConcurrency', value))).toEqual([
      `taskEventsMaxConcurrency: "${value}" is out of range: 2 to 1000 Lambdas, Lambda's bounds for an SQS event source's MaximumConcurrency`,
    ]);
  });

  it('accepts every default serverless.yml declares', () => {
    const defaults = serverlessYml.params.default;
    const resolved = Object.fromEntries(Object.entries(declared).map(([name, p]) => [name, { ...p, Default: String(p.Default).replace(/^\$\{param:(\w+)\}$/, (_m, param: string) => String(defaults[param])) }]));

    expect(outOfRangeParams(resolved)).toEqual([]);
  });
});
