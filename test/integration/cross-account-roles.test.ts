import { describe, expect, it } from 'vitest';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, createAwsClients } from '../../shared/adapters/wiring.js';
import { MemoryLog } from '../support/memory-log.js';
import { localAwsConfig } from '../support/local-aws.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';

const OTHER_ACCOUNT = '222222222222';

/** IAM credentials inside another account (moto scopes AssumeRole credentials to the role's account). */
async function iamIn(accountId: string): Promise<IAMClient> {
  const out = await new STSClient(localAwsConfig()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/admin`, RoleSessionName: 'setup' }));
  const c = out.Credentials!;
  return new IAMClient({ ...localAwsConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } });
}

const rolesWith = (crossAccountRoleName: string | undefined) => {
  const config = loadConfig('taskEvents', { AWS_ENDPOINT_URL: localAwsConfig().endpoint, ...(crossAccountRoleName ? { CROSS_ACCOUNT_ROLE_NAME: crossAccountRoleName } : {}) });
  return buildEnrollmentDeps(config, new MemoryLog(), createAwsClients(config)).roles;
};

describe('task roles in other accounts', () => {
  it("reads a role's tags in its own account through the cross-account role", async () => {
    const other = await iamIn(OTHER_ACCOUNT);
    await other.send(new CreateRoleCommand({ RoleName: 'ecs-mesh-reader', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY }));
    const created = await other.send(new CreateRoleCommand({ RoleName: 'payments-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'payments' }] }));

    const role = await rolesWith('ecs-mesh-reader').getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/payments-task`);

    expect(role).toMatchObject({ accountId: OTHER_ACCOUNT, name: 'payments-task', roleId: created.Role!.RoleId, tags: { team: 'payments' } });
  });

  it('never lends a same-named role of its own account to a role of another account', async () => {
    await new IAMClient(localAwsConfig()).send(new CreateRoleCommand({ RoleName: 'payments-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'payments' }] }));

    const role = await rolesWith(undefined).getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/payments-task`);

    expect(role).toBeUndefined();
  });

  it('reads a role of its own account with its own credentials even when a cross-account role is set', async () => {
    await new IAMClient(localAwsConfig()).send(new CreateRoleCommand({ RoleName: 'local-task', AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'local' }] }));

    const role = await rolesWith('ecs-mesh-reader').getRole('arn:aws:iam::123456789012:role/local-task');

    expect(role).toMatchObject({ accountId: '123456789012', tags: { team: 'local' } });
  });
});
