// Hub and spoke: which reader role each member account is read through, the settings that name
// them, and the reconciler's listing across the hub and its members.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { AccountRoutedTaskInventory } from '../../shared/adapters/account-routed-task-inventory.js';
import { parseMemberRoleNames, readerRoleNameFor } from '../../shared/core/member-accounts.js';
import { ConfigError } from '../../shared/errors.js';
import type { TaskInventory } from '../../shared/ports.js';
import { MemoryLog } from '../support/memory-log.js';

const MEMBER = '444455556666';
const OTHER = '777788889999';

describe('readerRoleNameFor', () => {
  const memberRoleNames = parseMemberRoleNames(`${MEMBER}=payments-reader`);

  it.each([
    { case: 'a member named in the mapping: its own role', account: MEMBER, defaultRoleName: 'ecs-mesh-reader', expected: 'payments-reader' },
    { case: 'a member not named: the default role', account: OTHER, defaultRoleName: 'ecs-mesh-reader', expected: 'ecs-mesh-reader' },
    { case: 'a member not named, without a default: none', account: OTHER, defaultRoleName: undefined, expected: undefined },
    { case: 'a member named, without a default: its own role', account: MEMBER, defaultRoleName: '', expected: 'payments-reader' },
  ])('gives $case', ({ account, defaultRoleName, expected }) => {
    expect(readerRoleNameFor(account, { memberRoleNames, defaultRoleName })).toBe(expected);
  });
});

describe('MEMBER_ROLE_NAMES and MEMBER_ACCOUNTS', () => {
  it('reads the mapping into account → role name, empty by default', () => {
    expect(loadConfig('explain', { MEMBER_ROLE_NAMES: `${MEMBER}=payments-reader,${OTHER}=ops.reader` }).MEMBER_ROLE_NAMES).toEqual(new Map([[MEMBER, 'payments-reader'], [OTHER, 'ops.reader']]));
    expect(loadConfig('auth', {}).MEMBER_ROLE_NAMES).toEqual(new Map());
  });

  it.each([
    { case: 'an account that is not 12 digits', env: { MEMBER_ROLE_NAMES: '4444=reader' }, names: 'MEMBER_ROLE_NAMES' },
    { case: 'a pair without a role', env: { MEMBER_ROLE_NAMES: `${MEMBER}=` }, names: 'MEMBER_ROLE_NAMES' },
    { case: 'a member the reconciler lists without a role to list it through', env: { MEMBER_ACCOUNTS: `${MEMBER},${OTHER}`, MEMBER_ROLE_NAMES: `${MEMBER}=payments-reader` }, names: `MEMBER_ACCOUNTS: ${OTHER} has no reader role` },
  ])('refuses $case, naming the variable', ({ env, names }) => {
    expect(() => loadConfig('reconcile', env)).toThrow(ConfigError);
    expect(() => loadConfig('reconcile', env)).toThrow(names);
  });

  it('lists members through their own role or the default one', () => {
    expect(loadConfig('reconcile', { MEMBER_ACCOUNTS: `${MEMBER},${OTHER}`, MEMBER_ROLE_NAMES: `${MEMBER}=payments-reader`, CROSS_ACCOUNT_ROLE_NAME: 'ecs-mesh-reader' }).MEMBER_ACCOUNTS).toBe(`${MEMBER},${OTHER}`);
  });
});

describe('AccountRoutedTaskInventory', () => {
  const clusterIn = (account: string) => `arn:aws:ecs:us-east-1:${account}:cluster/payments`;
  const inventory = (clusters: string[], tasks: string[] = []): TaskInventory => ({ listClusters: async () => clusters, listRunningTaskArns: async () => tasks });

  it("lists our clusters and each member's, and a cluster's tasks in the account its ARN names", async () => {
    const own = inventory([clusterIn('123456789012')], ['ours']);
    const routed = new AccountRoutedTaskInventory(own, [{ accountId: MEMBER, partition: 'aws' }], async (account) => inventory([clusterIn(account)], [`task of ${account}`]), new MemoryLog());

    expect(await routed.listClusters()).toEqual([clusterIn('123456789012'), clusterIn(MEMBER)]);
    expect(await routed.listRunningTaskArns(clusterIn(MEMBER))).toEqual([`task of ${MEMBER}`]);
    expect(await routed.listRunningTaskArns('prod')).toEqual(['ours']);
  });

  it('goes on without a member it cannot list (its role refused), and tries it again next time', async () => {
    const log = new MemoryLog();
    let refuse = true;
    const routed = new AccountRoutedTaskInventory(
      inventory([clusterIn('123456789012')]),
      [{ accountId: OTHER, partition: 'aws' }, { accountId: MEMBER, partition: 'aws' }],
      async (account) => {
        if (account === OTHER && refuse) throw new Error(`AssumeRole arn:aws:iam::${OTHER}:role/ecs-mesh-reader: AccessDenied`);
        return inventory([clusterIn(account)]);
      },
      log,
    );

    const first = await routed.listClusters();
    refuse = false;
    const second = await routed.listClusters();

    expect(first).toEqual([clusterIn('123456789012'), clusterIn(MEMBER)]);
    expect(log.lines).toEqual([expect.objectContaining({ level: 'error', extra: { accountId: OTHER, error: expect.stringContaining('AccessDenied') } })]);
    expect(second).toEqual([clusterIn('123456789012'), clusterIn(OTHER), clusterIn(MEMBER)]);
  });
});
