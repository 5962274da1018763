import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  DISCOVERY_KEY_CACHE_SECONDS, JWKS_MAX_AGE_SECONDS, MAX_ONBOARDING_TOKEN_LIFETIME_SECONDS, MIN_DATA_PLANE_TOKEN_LIFETIME_SECONDS, MIN_KEY_PREPUBLISH_SECONDS, minKeyPrepublishWithPeers,
  TOKEN_MAINTENANCE_INTERVAL_SECONDS,
} from '../../shared/core/token-lifetime.js';
import { readServerlessConfig } from '../support/serverless-config.js';

type TemplateParameters = Record<string, { Type: string; Default?: string; MinValue?: number; MaxValue?: number; ConstraintDescription?: string }>;

// The osls plugin is CommonJS (osls loads it with require); its rule table is plain data.
const { missingParams, outOfRangeParams, PEER_TIMING } = createRequire(import.meta.url)('../../deploy/required-params.cjs') as {
  missingParams: (params: Record<string, string>) => string[];
  outOfRangeParams: (parameters: TemplateParameters) => string[];
  PEER_TIMING: { DISCOVERY_KEY_CACHE_SECONDS: number; JWKS_MAX_AGE_SECONDS: number };
};

/** A stage's params with every required one set, for one account and no member accounts. */
const complete = { meshK8sUrl: 'https://mesh.example.com', meshK8sAuth: 'bearer', meshK8sTokenSecretId: 'mesh/token', authAudience: 'ci', authAllowedAccounts: '111122223333', crossAccountRoleName: '', meshSubnetIds: '', meshSecurityGroupIds: '' };

describe('required stage params: member accounts', () => {
  it('refuses several allowed accounts without the cross-account role, naming both params', () => {
    const problems = missingParams({ ...complete, authAllowedAccounts: '111122223333,444455556666' });

    expect(problems).toEqual([expect.stringMatching(/^crossAccountRoleName: .*deploy\/member-account-role\.yaml.*authAllowedAccounts names more than one account/)]);
  });

  it.each([
    { case: 'one allowed account', params: {} as Record<string, string> },
    { case: 'one account listed twice', params: { authAllowedAccounts: '111122223333,111122223333' } },
    { case: 'several accounts with the cross-account role', params: { authAllowedAccounts: '111122223333,444455556666', crossAccountRoleName: 'ecs-mesh-reader' } },
    { case: 'several accounts, each but ours with its own reader role', params: { authAllowedAccounts: '111122223333,444455556666', memberRoleNames: '444455556666=payments-reader' } },
    { case: 'members the reconciler lists, each with its own reader role', params: { memberAccounts: '444455556666', memberRoleNames: '444455556666=payments-reader' } },
  ])('accepts $case', ({ params }) => {
    expect(missingParams({ ...complete, ...params })).toEqual([]);
  });
});

describe('required stage params: the issuer deployment of several (peerJwksUrls)', () => {
  const issuer = { ...complete, peerJwksUrls: 'https://b.example/.well-known/jwks.json', peerJwksRefreshSeconds: '60', peerJwksKeepSeconds: '86700', keyPrepublishSeconds: '3600', dataPlaneTokenLifetimeSeconds: '86400', onboardingTokenLifetimeSeconds: '3600' };

  it('uses the constants the functions use', () => {
    expect(PEER_TIMING).toEqual({ DISCOVERY_KEY_CACHE_SECONDS, JWKS_MAX_AGE_SECONDS });
  });

  it('accepts the defaults, and a prepublish time exactly at the bound', () => {
    expect(missingParams(issuer)).toEqual([]);
    expect(missingParams({ ...issuer, keyPrepublishSeconds: String(minKeyPrepublishWithPeers(60)) })).toEqual([]);
  });

  it('refuses a refresh that, with the caches, could let a peer\'s new key sign before istiod has it', () => {
    expect(missingParams({ ...issuer, keyPrepublishSeconds: '600', peerJwksRefreshSeconds: '300' })).toEqual([
      expect.stringMatching(/^keyPrepublishSeconds: 600 is under 630 s = a peer's discovery cache \(30\) \+ peerJwksRefreshSeconds \(300\) \+ the JWKS max-age istiod honours \(300\)/),
    ]);
  });

  it('refuses to drop a silent peer\'s keys while its tokens may still live', () => {
    expect(missingParams({ ...issuer, peerJwksKeepSeconds: '86400' })).toEqual([expect.stringMatching(/^peerJwksKeepSeconds: 86400 is under the longest token lifetime \(86400\) \+ peerJwksRefreshSeconds \(60\)/)]);
  });

  it('checks nothing of a deployment that aggregates no peer', () => {
    expect(missingParams({ ...issuer, peerJwksUrls: '', keyPrepublishSeconds: '300', peerJwksKeepSeconds: '60' })).toEqual([]);
  });
});

describe('required stage params: hub and spoke', () => {
  it('refuses members the reconciler lists without a reader role, naming the param', () => {
    const problems = missingParams({ ...complete, memberAccounts: '444455556666,777788889999', memberRoleNames: '444455556666=payments-reader' });

    expect(problems).toEqual([expect.stringMatching(/^crossAccountRoleName: .*memberAccounts names an account memberRoleNames does not/)]);
  });
});

describe('stage params out of range', () => {
  // serverless.yml's own parameters (resources/parameters.yml), with a param's value as osls resolves it.
  const serverlessYml = readServerlessConfig();
  const declared = serverlessYml.resources.Parameters as TemplateParameters;
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

  it('bounds the service token lifetime by the maintenance schedule it derives from', () => {
    expect(serverlessYml.functions.tokenMaintenance!.events).toContainEqual({ schedule: `rate(${TOKEN_MAINTENANCE_INTERVAL_SECONDS / 3600} hour)` });
    expect(declared.DataPlaneTokenLifetimeSeconds).toMatchObject({ Type: 'Number', MinValue: MIN_DATA_PLANE_TOKEN_LIFETIME_SECONDS });
    // Refreshed with a third left, a token at the bound still lives an interval and more after it fell due.
    expect(MIN_DATA_PLANE_TOKEN_LIFETIME_SECONDS / 3).toBeGreaterThan(TOKEN_MAINTENANCE_INTERVAL_SECONDS);
  });

  it.each([
    { case: 'three hours (its third is exactly one maintenance interval)', value: '10800' },
    { case: 'an hour', value: '3600' },
  ])('refuses a service token lifetime of $case, saying why', ({ value }) => {
    expect(outOfRangeParams(withValue('DataPlaneTokenLifetimeSeconds', value))).toEqual([
      `dataPlaneTokenLifetimeSeconds: "${value}" is out of range: at least 12600 seconds (3.5 h), so that a token refreshed with a third of its lifetime left cannot expire between two hourly tokenMaintenance runs`,
    ]);
  });

  it('accepts a service token lifetime at the bound', () => {
    expect(outOfRangeParams(withValue('DataPlaneTokenLifetimeSeconds', String(MIN_DATA_PLANE_TOKEN_LIFETIME_SECONDS)))).toEqual([]);
  });

  it('refuses a key prepublish time shorter than the JWKS max-age go-oidc v2 caches for, and takes that max-age', () => {
    expect(declared.KeyPrepublishSeconds).toMatchObject({ Type: 'Number', MinValue: MIN_KEY_PREPUBLISH_SECONDS });
    expect(outOfRangeParams(withValue('KeyPrepublishSeconds', '299'))).toEqual([
      'keyPrepublishSeconds: "299" is out of range: at least 300 seconds, the JWKS max-age that istiods on go-oidc v2 cache the key set for; a key that signs sooner is refused by them until their cache expires',
    ]);
    expect(outOfRangeParams(withValue('KeyPrepublishSeconds', String(MIN_KEY_PREPUBLISH_SECONDS)))).toEqual([]);
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
