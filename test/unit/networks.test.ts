import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CLAIM_SETTLE_SECONDS, claimHolds, parseMeshNetworks, resolveNetwork, type MeshNetworks } from '../../shared/core/networks.js';
import { loadConfig } from '../../shared/config.js';
import { buildWorkloadEntry } from '../../shared/core/workload-entry.js';
import { aGroup } from '../fixtures/builders.js';

// The osls plugin checks meshNetworks before packaging; the functions parse it again at cold start.
const { missingParams } = createRequire(import.meta.url)('../../deploy/required-params.cjs') as { missingParams: (params: Record<string, string>) => string[] };
const complete = { meshK8sUrl: 'https://mesh.example.com', meshK8sAuth: 'bearer', meshK8sTokenSecretId: 'mesh/token', authAudience: 'ci', authAllowedAccounts: '111122223333', crossAccountRoleName: '', meshSubnetIds: '', meshSecurityGroupIds: '' };

const VPC_A = 'vpc-0abc1234def567890';
const ACCOUNT_B = '123456789012';

function networks(text: string): MeshNetworks {
  const parsed = parseMeshNetworks(text);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.networks;
}

describe('meshNetworks: the network of each VPC and account', () => {
  it.each([
    { case: 'empty', text: '' },
    { case: 'a VPC and an account', text: `${VPC_A}=net-a,${ACCOUNT_B}=net-b` },
    { case: 'a short VPC id, spaces around pairs', text: ` vpc-0abc1234=net-a , ${ACCOUNT_B}=net.b_1 ` },
  ])('accepts $case, at package time and at cold start alike', ({ text }) => {
    expect(parseMeshNetworks(text).ok).toBe(true);
    expect(missingParams({ ...complete, meshNetworks: text })).toEqual([]);
  });

  it.each([
    { case: 'no network', text: `${ACCOUNT_B}`, problem: /is not <vpc-id or/ },
    { case: 'an empty network', text: `${ACCOUNT_B}=`, problem: /network|is not <vpc-id/ },
    { case: 'a subnet for a key', text: 'subnet-0abc1234=net-a', problem: /neither a VPC id|is not <vpc-id/ },
    { case: 'an 11-digit account', text: '12345678901=net-a', problem: /neither a VPC id|is not <vpc-id/ },
    { case: 'a network that is no label value', text: `${ACCOUNT_B}=net/a`, problem: /label value/ },
    { case: 'two equals signs', text: `${ACCOUNT_B}=net=a`, problem: /is not <vpc-id/ },
    { case: 'a key named twice', text: `${ACCOUNT_B}=net-a,${ACCOUNT_B}=net-b`, problem: /named twice/ },
  ])('refuses $case with a reason, at package time and at cold start alike', ({ text, problem }) => {
    const parsed = parseMeshNetworks(text);

    expect(parsed.ok ? [] : parsed.problems).toEqual([expect.stringMatching(problem)]);
    expect(missingParams({ ...complete, meshNetworks: text })).toEqual([expect.stringMatching(new RegExp(`^meshNetworks: .*(${problem.source})`))]);
    expect(() => loadConfig('taskEvents', { MESH_NETWORKS: text })).toThrow(/MESH_NETWORKS: /);
  });
});

describe('resolveNetwork: which network a task is on', () => {
  const map = networks(`${VPC_A}=net-a,${ACCOUNT_B}=net-b`);

  it.each([
    { case: 'its VPC over its account and its group', place: { vpcId: VPC_A, accountId: ACCOUNT_B }, group: 'net-group', want: { network: 'net-a', source: 'vpc' } },
    { case: 'its account over its group, when its VPC is not named', place: { vpcId: 'vpc-0fff0000', accountId: ACCOUNT_B }, group: 'net-group', want: { network: 'net-b', source: 'account' } },
    { case: 'its account when its VPC is unknown', place: { accountId: ACCOUNT_B }, group: undefined, want: { network: 'net-b', source: 'account' } },
    { case: "its group template's when neither is named", place: { vpcId: 'vpc-0fff0000', accountId: '210987654321' }, group: 'net-group', want: { network: 'net-group', source: 'group' } },
    { case: 'none when nothing names one', place: { accountId: '210987654321' }, group: undefined, want: { source: 'none' } },
  ])('takes $case', ({ place, group, want }) => {
    expect(resolveNetwork(map, place, group)).toEqual(want);
  });

  it("puts the resolved network on the entry instead of the group template's", () => {
    const entry = (network?: string) =>
      buildWorkloadEntry({ group: aGroup({ template: { network: 'net-group' } }), taskId: 't1', taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/t1', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod', taskDefinitionArn: 'd', eventVersion: 1, address: '10.0.0.7', region: 'us-east-1', taskTags: {}, deployment: 'd', ...(network ? { network } : {}) });

    expect([entry('net-a').spec.network, entry().spec.network]).toEqual(['net-a', 'net-group']);
  });
});

describe('claimHolds: whether an address claim still keeps others out', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const claimed = (secondsAgo: number) => ({ taskId: 't1', taskArn: 'arn', claimedAt: new Date(now.getTime() - secondsAgo * 1000).toISOString() });

  it.each([
    { case: 'an enrolled holder, however old the claim', phase: 'enrolled' as const, age: 86_400, holds: true },
    { case: 'a pending holder', phase: 'pending' as const, age: 86_400, holds: true },
    { case: 'a draining holder, even just claimed', phase: 'draining' as const, age: 0, holds: false },
    { case: 'a deregistered holder', phase: 'deregistered' as const, age: 0, holds: false },
    { case: 'a holder with no record yet, claimed just now (it is enrolling)', phase: undefined, age: 1, holds: true },
    { case: 'a holder with no record, claimed long ago', phase: undefined, age: CLAIM_SETTLE_SECONDS, holds: false },
    { case: 'a refused holder, claimed long ago', phase: 'rejected' as const, age: CLAIM_SETTLE_SECONDS + 1, holds: false },
  ])('$case: $holds', ({ phase, age, holds }) => {
    expect(claimHolds(claimed(age), phase, now)).toBe(holds);
  });
});
