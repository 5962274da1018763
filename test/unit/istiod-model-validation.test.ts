/**
 * The istiod model's WorkloadEntry validation (test/support/istiod-model/validation.ts). The first
 * table ports istio pkg/config/validation/validation_test.go TestValidateWorkloadEntry at
 * ISTIO_COMMIT, with its names and inputs (upstream checks valid/warning; these rows say which).
 */
import { describe, expect, it } from 'vitest';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { exampleIstioManifest, exampleTaskEntry } from '../support/example-task-entry.js';
import type { ModelWorkloadEntry } from '../support/istiod-model/endpoints.js';
import { validateWorkloadEntry } from '../support/istiod-model/validation.js';

describe('istio pkg/config/validation/validation_test.go TestValidateWorkloadEntry', () => {
  it.each<{ name: string; in: ModelWorkloadEntry['spec']; valid: boolean; warning?: boolean }>([
    { name: 'valid', in: { address: '1.2.3.4' }, valid: true },
    { name: 'missing address', in: {}, valid: false },
    { name: 'missing address with network', in: { network: 'network-2' }, valid: true, warning: true },
    { name: 'valid unix endpoint', in: { address: 'unix:///lon/google/com' }, valid: true },
    { name: 'invalid unix endpoint', in: { address: 'unix:///lon/google/com', ports: { '7777': 7777 } }, valid: false },
    { name: 'valid FQDN', in: { address: 'validdns.com', ports: { '7777': 7777 } }, valid: true },
    { name: 'invalid FQDN', in: { address: 'invaliddns.com:9443', ports: { '7777': 7777 } }, valid: false },
    { name: 'valid IP', in: { address: '172.16.1.1', ports: { '7777': 7777 } }, valid: true },
  ])('$name', ({ in: spec, valid, warning }) => {
    const result = validateWorkloadEntry({ spec });
    expect(result.errors.length === 0).toBe(valid);
    expect(result.warnings.length > 0).toBe(warning ?? false);
  });
});

// Not tabled upstream for WorkloadEntry: the port and label checks validateWorkloadEntry calls.
describe('validateWorkloadEntry: ports and labels (ValidatePortName, ValidatePort, labels.Instance.Validate)', () => {
  it.each([
    ['a port name that is no DNS-1123 label', { address: '10.0.0.1', ports: { HTTP_Admin: 80 } }, 'invalid port name: HTTP_Admin'],
    ['port 0', { address: '10.0.0.1', ports: { http: 0 } }, 'port number 0 must be in the range 1..65535'],
    ['port 65536', { address: '10.0.0.1', ports: { http: 65536 } }, 'port number 65536 must be in the range 1..65535'],
    ['a label key with a space', { address: '10.0.0.1', labels: { 'bad key': 'v' } }, 'invalid tag key: "bad key"'],
    ['a label value ending with a dash', { address: '10.0.0.1', labels: { app: 'ratings-' } }, 'invalid tag value: "ratings-"'],
    ['an all-numeric top-level domain', { address: 'host.123' }, 'endpoint address "host.123" is not a valid FQDN or an IP address'],
  ])('%s is refused', (_name, spec, error) => {
    expect(validateWorkloadEntry({ spec }).errors).toEqual([error]);
  });

  it('accepts a prefixed label key and an empty label value', () => {
    expect(validateWorkloadEntry({ spec: { address: '10.0.0.1', labels: { 'ecsmesh.io/platform': 'ecs', empty: '' } } })).toEqual({ errors: [], warnings: [] });
  });
});

describe('what our enrollment writes passes istiod validation', () => {
  it("the entry buildWorkloadEntry makes for a task of the example's probed group", () => {
    const group = exampleIstioManifest('workloadgroup.yaml') as WorkloadGroup;
    const entry = exampleTaskEntry({ ...group, metadata: { ...group.metadata, uid: '3f1e0d6c-1a2b-4c3d-8e9f-001122334455' } });
    expect(entry.metadata.annotations).toHaveProperty(['proxy.istio.io/health-checks-enabled']);
    expect(validateWorkloadEntry(entry)).toEqual({ errors: [], warnings: [] });
  });
});
