import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The osls plugin is CommonJS (osls loads it with require); its rule table is plain data.
const { missingParams } = createRequire(import.meta.url)('../../deploy/required-params.cjs') as { missingParams: (params: Record<string, string>) => string[] };

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
