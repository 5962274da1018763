import { describe, expect, it } from 'vitest';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, buildExplainDeps, createAwsClients } from '../../shared/adapters/wiring.js';
import { MemoryLog } from '../support/memory-log.js';
import { localAwsConfig } from '../support/local-aws.js';
import { ECS_TASKS_TRUST_POLICY } from '../../local/bootstrap.js';
import { asFunction } from '../support/aws-call-recorder.js';

const OTHER_ACCOUNT = '222222222222';

/** IAM credentials inside another account (moto scopes AssumeRole credentials to the role's account). */
async function iamIn(accountId: string): Promise<IAMClient> {
  const out = await new STSClient(localAwsConfig()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/admin`, RoleSessionName: 'setup' }));
  const c = out.Credentials!;
  return new IAMClient({ ...localAwsConfig(), credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } });
}

/** The role directory `fn` wires (task-events and explain read roles alike), its calls recorded for the IAM check. */
const rolesWith = (crossAccountRoleName: string | undefined, fn: 'taskEvents' | 'explain' = 'taskEvents') => {
  const config = loadConfig({ AWS_ENDPOINT_URL: localAwsConfig().endpoint, ...(crossAccountRoleName ? { CROSS_ACCOUNT_ROLE_NAME: crossAccountRoleName } : {}) });
  const build = fn === 'explain' ? buildExplainDeps : buildEnrollmentDeps;
  const roles = build(config, new MemoryLog(), createAwsClients(config)).roles;
  const params: Record<string, string> = crossAccountRoleName ? { CrossAccountRoleName: crossAccountRoleName } : {};
  const scope = { fn, params };
  return { getRole: (arn: string) => asFunction(scope, () => roles.getRole(arn)) };
};

describe('task roles in other accounts', () => {
  it.each(['taskEvents', 'explain'] as const)("reads a role's tags in its own account through the cross-account role (%s)", async (fn) => {
    const other = await iamIn(OTHER_ACCOUNT);
    const roleName = `payments-task-${fn.toLowerCase()}`;
    await other.send(new CreateRoleCommand({ RoleName: `ecs-mesh-reader-${fn.toLowerCase()}`, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY }));
    const created = await other.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: ECS_TASKS_TRUST_POLICY, Tags: [{ Key: 'team', Value: 'payments' }] }));

    const role = await rolesWith(`ecs-mesh-reader-${fn.toLowerCase()}`, fn).getRole(`arn:aws:iam::${OTHER_ACCOUNT}:role/${roleName}`);

    expect(role).toMatchObject({ accountId: OTHER_ACCOUNT, name: roleName, roleId: created.Role!.RoleId, tags: { team: 'payments' } });
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
