import { describe, expect, it } from 'vitest';
import { buildWorkloadEntry, deploymentLabelValue, entryBelongsTo, requestedWorkloadGroup } from '../../shared/core/workload-entry.js';
import { aGroup, anEntryInput, ACCOUNT } from '../fixtures/builders.js';
import { validateWorkloadEntry, validateWorkloadGroup } from '../../shared/core/crd-validation.js';

const taskArn = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/prod/0123456789abcdef0123456789abcdef`;
const input = anEntryInput();
/** The builders' group, letting its tasks set the listed label keys. */
const optingIn = (keys: string) => {
  const group = aGroup();
  group.metadata.annotations = { 'ecsmesh.io/task-label-keys': keys };
  return group;
};

describe('buildWorkloadEntry', () => {
  it('builds the documented entry from the group template and the task', () => {
    const entry = buildWorkloadEntry(input);

    expect(entry).toEqual({
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: {
        name: 'ratings-0123456789abcdef0123456789abcdef',
        namespace: 'bookinfo',
        labels: { app: 'ratings', version: 'v1', 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding', 'ecsmesh.io/deployment': 'ecs-mesh-onboarding', 'ecsmesh.io/task-id': '0123456789abcdef0123456789abcdef' },
        annotations: {
          'ecsmesh.io/task-arn': taskArn,
          'ecsmesh.io/cluster-arn': input.clusterArn,
          'ecsmesh.io/task-definition-arn': input.taskDefinitionArn,
          'ecsmesh.io/event-version': '3',
        },
        ownerReferences: [{ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', name: 'ratings', uid: 'group-uid-1', controller: true }],
      },
      spec: {
        address: '10.0.1.23',
        labels: { app: 'ratings', version: 'v1' },
        serviceAccount: 'bookinfo-ratings',
        network: 'vpc-1',
        ports: { http: 9080 },
        weight: 1,
        locality: 'us-east-1/us-east-1b',
      },
    });
  });

  it('lets task label tags add the labels the group opts in, but never override the group labels', () => {
    const entry = buildWorkloadEntry({ ...input, group: optingIn('track, app'), taskTags: { 'ecsmesh.io/label/track': 'canary', 'ecsmesh.io/label/app': 'evil', other: 'x' } });

    expect(entry.spec.labels).toEqual({ app: 'ratings', version: 'v1', track: 'canary' });
  });

  it('puts the task label tags on metadata.labels too, as istiod uses the spec labels for both', () => {
    const entry = buildWorkloadEntry({ ...input, group: optingIn('track'), taskTags: { 'ecsmesh.io/label/track': 'canary' } });

    expect(entry.metadata.labels).toMatchObject({ app: 'ratings', version: 'v1', track: 'canary' });
  });

  it('never takes a mesh-reserved label, or one the group does not opt in, from a task tag', () => {
    const taskTags = { 'ecsmesh.io/label/security.istio.io/tlsMode': 'disabled', 'ecsmesh.io/label/istio.io/rev': 'canary', 'ecsmesh.io/label/service': 'reviews' };

    const entry = buildWorkloadEntry({ ...input, group: optingIn('security.istio.io/tlsMode'), taskTags });

    expect(entry.spec.labels).toEqual({ app: 'ratings', version: 'v1' });
    expect(Object.keys(entry.metadata.labels ?? {}).sort()).toEqual(['app', 'app.kubernetes.io/managed-by', 'ecsmesh.io/deployment', 'ecsmesh.io/task-id', 'version']);
  });

  it("carries the group's metadata annotations, never over ours, as istiod's auto-registration does", () => {
    const group = aGroup();
    group.spec.metadata = { ...group.spec.metadata, annotations: { 'sidecar.istio.io/logLevel': 'debug', 'ecsmesh.io/task-arn': 'forged' } };

    const entry = buildWorkloadEntry({ ...input, group });

    expect(entry.metadata.annotations).toMatchObject({ 'sidecar.istio.io/logLevel': 'debug', 'ecsmesh.io/task-arn': taskArn });
    expect(entry.metadata.annotations).not.toHaveProperty('istio.io/autoRegistrationGroup');
    expect(entryBelongsTo(entry, taskArn, input.deployment)).toBe(true);
  });

  it('enables health checks when the group has a probe, and only then', () => {
    const probed = aGroup();
    probed.spec.probe = { httpGet: { path: '/ready', port: 9080 }, periodSeconds: 5 };

    expect(buildWorkloadEntry({ ...input, group: probed }).metadata.annotations).toMatchObject({ 'proxy.istio.io/health-checks-enabled': 'true' });
    expect(buildWorkloadEntry(input).metadata.annotations).not.toHaveProperty('proxy.istio.io/health-checks-enabled');
  });

  it('builds CRD-valid entries from a probed, annotated group', () => {
    const group = aGroup();
    group.spec.probe = { httpGet: { path: '/ready', port: 9080 } };
    group.spec.metadata = { ...group.spec.metadata, annotations: { a: 'b' } };

    expect(validateWorkloadGroup(group)).toEqual({ ok: true });
    expect(validateWorkloadEntry(buildWorkloadEntry({ ...input, group }))).toEqual({ ok: true });
  });

  it('defaults the service account to default', () => {
    const entry = buildWorkloadEntry({ ...input, group: aGroup({ template: {} }) });

    expect(entry.spec.serviceAccount).toBe('default');
    expect(entry.spec.ports).toBeUndefined();
  });

  it('recognizes only entries written by this deployment (or before entries named theirs) for the same task', () => {
    const entry = buildWorkloadEntry(input);
    const { 'ecsmesh.io/deployment': _owner, ...unlabelled } = entry.metadata.labels ?? {};

    expect(entryBelongsTo(entry, taskArn, input.deployment)).toBe(true);
    expect(entryBelongsTo(entry, taskArn.replace('0123', '9999'), input.deployment)).toBe(false);
    expect(entryBelongsTo(entry, taskArn, 'ecs-mesh-onboarding-other')).toBe(false);
    expect(entryBelongsTo({ ...entry, metadata: { ...entry.metadata, labels: unlabelled } }, taskArn, 'ecs-mesh-onboarding-other')).toBe(true);
  });
});

describe('requestedWorkloadGroup', () => {
  it.each([
    { case: 'task tag', task: { 'ecsmesh.io/workload-group': 'bookinfo/ratings' }, role: {}, expected: { found: true, source: 'task', ref: { namespace: 'bookinfo', name: 'ratings' } } },
    { case: 'role tag when the task has none', task: {}, role: { 'ecsmesh.io/workload-group': 'bookinfo/reviews' }, expected: { found: true, source: 'role', ref: { namespace: 'bookinfo', name: 'reviews' } } },
    { case: 'task tag wins over role tag', task: { 'ecsmesh.io/workload-group': 'a/b' }, role: { 'ecsmesh.io/workload-group': 'c/d' }, expected: { found: true, source: 'task', ref: { namespace: 'a', name: 'b' } } },
    { case: 'no tag', task: {}, role: {}, expected: { found: false } },
  ] as { case: string; task: Record<string, string>; role: Record<string, string>; expected: unknown }[])('reads the $case', ({ task, role, expected }) => {
    expect(requestedWorkloadGroup(task, role)).toEqual(expected);
  });

  it.each(['bookinfo', 'a/b/c', 'Bookinfo/ratings', '/ratings', 'bookinfo/'])('flags %s as invalid', (value) => {
    expect(requestedWorkloadGroup({ 'ecsmesh.io/workload-group': value }, {})).toMatchObject({ found: true, invalid: expect.any(String) });
  });
});

describe('deploymentLabelValue', () => {
  it('keeps a server ID that is a label value as it is', () => {
    expect(deploymentLabelValue('ecs-mesh-onboarding-prod-us-east-2')).toBe('ecs-mesh-onboarding-prod-us-east-2');
  });

  it.each([
    ['a URL', 'https://mesh.example.com/ecs'],
    ['more than 63 characters', `ecs-mesh-onboarding-${'x'.repeat(60)}`],
    ['no letter or digit', '///'],
  ])('turns %s into a label value, distinct from a near twin', (_case, serverId) => {
    const value = deploymentLabelValue(serverId);

    expect(value).toMatch(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/);
    expect(value).not.toBe('');
    expect(value).toBe(deploymentLabelValue(serverId));
    expect(value).not.toBe(deploymentLabelValue(`${serverId}2`));
  });
});
