/**
 * A task-events container's caches (role tags, policies, WorkloadGroups) expire by the clock it is
 * wired with. The chaos run ages them on its virtual clock: on the wall clock, a run shorter than
 * ROLE_CACHE_SECONDS kept tags read before a tag was removed, and its DLQ redrive re-admitted a
 * task the reconciler had just revoked (seen in CI as "differences after the DLQ redrive 1").
 */
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { buildEnrollmentDeps, createAwsClients, EVERY_AWS_CLIENT } from '../../shared/adapters/wiring.js';
import { MemoryLog } from '../support/memory-log.js';

const ROLE = 'arn:aws:iam::123456789012:role/svc';
const env = { AWS_REGION: 'us-east-1', POLICY_TABLE: 'p', ENROLLMENT_TABLE: 'e', KUBERNETES_API_URL: 'https://mesh.example', ROLE_CACHE_SECONDS: '60' };

describe('the enrollment deps\' caches', () => {
  it('expire role tags by the injected clock, not the wall clock', async () => {
    const iam = mockClient(IAMClient);
    iam.on(GetRoleCommand).resolvesOnce({ Role: { RoleId: 'AROA1', Arn: ROLE, RoleName: 'svc', Path: '/', CreateDate: new Date(), AssumeRolePolicyDocument: '{}', Tags: [{ Key: 'team', Value: 'a' }] } })
      .resolves({ Role: { RoleId: 'AROA1', Arn: ROLE, RoleName: 'svc', Path: '/', CreateDate: new Date(), AssumeRolePolicyDocument: '{}', Tags: [] } });
    let now = Date.parse('2026-12-05T10:00:00Z');
    const config = loadConfig('taskEvents', env);
    const deps = buildEnrollmentDeps(config, new MemoryLog(), createAwsClients(config, EVERY_AWS_CLIENT), undefined, () => now);

    expect((await deps.roles.getRole(ROLE))?.tags).toEqual({ team: 'a' });
    now += 59_000;
    expect((await deps.roles.getRole(ROLE))?.tags, 'within ROLE_CACHE_SECONDS').toEqual({ team: 'a' });
    now += 2_000;
    expect((await deps.roles.getRole(ROLE))?.tags, 'past ROLE_CACHE_SECONDS on the injected clock').toEqual({});
    iam.restore();
  });
});
