import { describe, expect, it } from 'vitest';
import { createCrdValidator } from '../../shared/core/crd-schema-compiler.js';
import { validateWorkloadEntry, validateWorkloadGroup } from '../../shared/core/crd-validation.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';

const aWorkloadEntry = (): WorkloadEntry => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: {
    name: 'payments-0123456789abcdef0123456789abcdef',
    namespace: 'payments',
    labels: { 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding' },
    annotations: { 'ecs-mesh.io/task-arn': 'arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef0123456789abcdef' },
    ownerReferences: [{ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', name: 'payments', uid: '3f1e0d6c-1a2b-4c3d-8e9f-001122334455' }],
  },
  spec: {
    address: '10.0.1.23',
    labels: { app: 'payments', version: 'v1' },
    locality: 'eu-west-1/eu-west-1a',
    network: 'vpc-0abc',
    ports: { http: 8080, 'grpc-admin': 9090 },
    serviceAccount: 'payments',
    weight: 1,
  },
});

const REMOVE = Symbol('remove');

/** A fresh entry with each `path: value` change applied (REMOVE deletes); unknown so rows can break the types. */
const anEntryWith = (changes: Record<string, unknown>): unknown => {
  const entry: Record<string, unknown> = structuredClone(aWorkloadEntry()) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    const parent = keys.reduce((node, key) => node[key] as Record<string, unknown>, entry);
    if (value === REMOVE) delete parent[last];
    else parent[last] = value;
  }
  return entry;
};

describe('Function: validateWorkloadEntry', () => {
  it.each([
    { case: 'a full entry', obj: aWorkloadEntry() },
    { case: 'network without address', obj: anEntryWith({ 'spec.address': REMOVE }) },
    { case: 'a unix socket without ports', obj: anEntryWith({ 'spec.address': 'unix:///var/run/app.sock', 'spec.ports': REMOVE }) },
    { case: 'an address of 256 characters', obj: anEntryWith({ 'spec.address': 'a'.repeat(256) }) },
    { case: 'a name of 253 characters', obj: anEntryWith({ 'metadata.name': `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(61) }) },
    { case: 'server-owned metadata', obj: anEntryWith({ 'metadata.uid': 'x', 'metadata.resourceVersion': '7', 'metadata.managedFields': [] }) },
    { case: 'unknown fields under status', obj: anEntryWith({ status: { somethingNew: true } }) },
  ])('accepts $case', ({ obj }) => {
    const result = validateWorkloadEntry(obj);

    expect(result).toEqual({ ok: true });
  });

  it.each([
    { case: 'port 0', changes: { 'spec.ports.http': 0 }, problem: 'spec.ports.http: port must be between 1-65535' },
    { case: 'port 65536', changes: { 'spec.ports.http': 65536 }, problem: 'spec.ports.http: port must be between 1-65535' },
    { case: 'a port name with an underscore', changes: { 'spec.ports': { http_alt: 8080 } }, problem: 'spec.ports: port name must be valid' },
    { case: 'neither address nor network', changes: { 'spec.address': REMOVE, 'spec.network': REMOVE }, problem: 'spec: Address is required' },
    { case: 'a unix socket with ports', changes: { 'spec.address': 'unix:///var/run/app.sock' }, problem: 'spec: UDS may not include ports' },
    { case: 'a relative unix socket', changes: { 'spec.address': 'unix://app.sock', 'spec.ports': REMOVE }, problem: 'spec.address: UDS must be an absolute path or abstract socket' },
    { case: 'an address of 257 characters', changes: { 'spec.address': 'a'.repeat(257) }, problem: 'spec.address: must NOT have more than 256 characters' },
    { case: 'an unknown field in spec', changes: { 'spec.adress': '10.0.0.1' }, problem: 'spec.adress: unknown field' },
    { case: 'an unknown top-level field', changes: { extra: 1 }, problem: 'extra: unknown field' },
    { case: 'a label value that is not a string', changes: { 'spec.labels.version': 2 }, problem: 'spec.labels.version: must be string' },
    { case: 'a negative weight', changes: { 'spec.weight': -1 }, problem: 'spec.weight: must be >= 0' },
    { case: 'a fractional weight', changes: { 'spec.weight': 1.5 }, problem: 'spec.weight: must be integer' },
    { case: 'no spec', changes: { spec: REMOVE }, problem: 'spec: required' },
    { case: 'the wrong kind', changes: { kind: 'ServiceEntry' }, problem: 'kind: must be WorkloadEntry' },
    { case: 'the wrong apiVersion', changes: { apiVersion: 'networking.istio.io/v1beta1' }, problem: 'apiVersion: must be networking.istio.io/v1' },
    { case: 'no name', changes: { 'metadata.name': REMOVE }, problem: 'metadata.name: required' },
    { case: 'an upper-case name', changes: { 'metadata.name': 'Payments-1' }, problem: 'metadata.name: must be a lowercase RFC 1123 subdomain of at most 253 characters' },
    { case: 'a name of 254 characters', changes: { 'metadata.name': 'a'.repeat(254) }, problem: 'metadata.name: must be a lowercase RFC 1123 subdomain of at most 253 characters' },
    { case: 'an invalid namespace', changes: { 'metadata.namespace': 'Payments' }, problem: 'metadata.namespace: must be a lowercase RFC 1123 label of at most 63 characters' },
    { case: 'a metadata label value of 64 characters', changes: { 'metadata.labels.team': 'a'.repeat(64) }, problem: 'metadata.labels.team: invalid label value' },
    { case: 'a metadata annotation that is not a string', changes: { 'metadata.annotations.version': 3 }, problem: 'metadata.annotations.version: must be a string' },
  ])('refuses $case', ({ changes, problem }) => {
    const obj = anEntryWith(changes);

    const result = validateWorkloadEntry(obj);

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toContain(problem);
  });

  it('reports every problem at once', () => {
    const obj = anEntryWith({ 'spec.weight': -1, 'spec.ports': { http: 0 } });

    const result = validateWorkloadEntry(obj);

    expect(result).toEqual({ ok: false, problems: ['spec.weight: must be >= 0', 'spec.ports.http: port must be between 1-65535'] });
  });

  it('refuses something that is not an object', () => {
    const result = validateWorkloadEntry('WorkloadEntry');

    expect(result).toEqual({ ok: false, problems: ['(root): must be an object'] });
  });
});

describe('Function: validateWorkloadGroup', () => {
  const aWorkloadGroup = () => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name: 'payments', namespace: 'payments' },
    spec: {
      metadata: { labels: { app: 'payments' } },
      template: { serviceAccount: 'payments', ports: { http: 8080 } },
      probe: { httpGet: { port: 8080, path: '/ready' }, periodSeconds: 5 },
    },
  });

  it('accepts a group with a template and a probe', () => {
    const result = validateWorkloadGroup(aWorkloadGroup());

    expect(result).toEqual({ ok: true });
  });

  it('refuses a probe port of 0 deep inside the spec', () => {
    const group = aWorkloadGroup();
    group.spec.probe.httpGet.port = 0;

    const result = validateWorkloadGroup(group);

    expect(result.ok ? [] : result.problems).toContain('spec.probe.httpGet.port: port must be between 1-65535');
  });

  it('refuses a probe with two checks', () => {
    const group = { ...aWorkloadGroup(), spec: { probe: { httpGet: { port: 80 }, tcpSocket: { port: 80 } } } };

    const result = validateWorkloadGroup(group);

    expect(result.ok).toBe(false);
  });
});

describe('Function: createCrdValidator', () => {
  it('accepts any apiVersion and kind when no identity is given', () => {
    const validate = createCrdValidator({ type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } });

    const result = validate({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'a' }, spec: { anything: 1 } });

    expect(result).toEqual({ ok: true });
  });

  it('reports a rule without a message by its expression', () => {
    const validate = createCrdValidator({ type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'has(self.x)' }] } } });

    const result = validate({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'a' }, spec: {} });

    expect(result).toEqual({ ok: false, problems: ['spec: failed rule: has(self.x)'] });
  });
});
