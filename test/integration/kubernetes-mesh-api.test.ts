import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { MeshApiError, MeshPreconditionError, MeshValidationError } from '../../shared/errors.js';
import { KubernetesApiDouble } from '../support/kubernetes-api-double.js';

const TOKEN = 'test-token-7f3a';
const MANAGED = { 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding' };

const anEntry = (name: string, namespace = 'payments', spec: Partial<WorkloadEntry['spec']> = {}): WorkloadEntry => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: { name, namespace, labels: { ...MANAGED, app: namespace } },
  spec: { address: '10.0.1.23', labels: { app: namespace }, ports: { http: 8080 }, serviceAccount: namespace, weight: 1, ...spec },
});

describe('Class: KubernetesMeshApi', () => {
  let double: KubernetesApiDouble;
  let mesh: KubernetesMeshApi;

  beforeAll(async () => {
    double = await KubernetesApiDouble.start({ token: TOKEN });
  });

  afterAll(async () => {
    await double.stop();
  });

  beforeEach(() => {
    double.setOutage(undefined);
    double.setLatency(0);
    mesh = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 });
  });

  describe('Method: applyWorkloadEntry', () => {
    it('creates an entry with server-side apply and returns its uid and resourceVersion', async () => {
      const entry = anEntry('payments-apply-1');

      const stored = await mesh.applyWorkloadEntry(entry);

      expect(stored.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(stored.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(stored.spec).toEqual(entry.spec);
      const last = double.requests.at(-1);
      expect(last).toMatchObject({ method: 'PATCH', query: { fieldManager: 'ecs-mesh-onboarding', force: 'true' } });
      const [held] = double.objects('WorkloadEntry').filter((o) => o.metadata.name === 'payments-apply-1');
      expect(held?.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'ecs-mesh-onboarding', operation: 'Apply' })]);
    });

    it('updates an entry on re-apply and keeps its uid', async () => {
      const first = await mesh.applyWorkloadEntry(anEntry('payments-apply-2'));

      const second = await mesh.applyWorkloadEntry(anEntry('payments-apply-2', 'payments', { address: '10.0.1.99' }));

      expect(second.metadata.uid).toBe(first.metadata.uid);
      expect(Number(second.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
      expect(second.spec.address).toBe('10.0.1.99');
    });

    it('removes a field the manager stopped applying', async () => {
      await mesh.applyWorkloadEntry(anEntry('payments-apply-3', 'payments', { locality: 'eu-west-1/eu-west-1a' }));
      const { locality: _dropped, ...specWithoutLocality } = anEntry('payments-apply-3', 'payments', { locality: 'eu-west-1/eu-west-1a' }).spec;

      const stored = await mesh.applyWorkloadEntry({ ...anEntry('payments-apply-3'), spec: specWithoutLocality });

      expect(stored.spec).not.toHaveProperty('locality');
      expect((await mesh.getWorkloadEntry({ namespace: 'payments', name: 'payments-apply-3' }))?.spec).not.toHaveProperty('locality');
    });

    it('refuses an invalid entry without sending a request', async () => {
      const before = double.requests.length;

      const attempt = mesh.applyWorkloadEntry(anEntry('payments-invalid', 'payments', { ports: { http: 0 } }));

      await expect(attempt).rejects.toBeInstanceOf(MeshValidationError);
      await expect(attempt).rejects.toMatchObject({ problems: ['spec.ports.http: port must be between 1-65535'], retryable: false });
      expect(double.requests.length).toBe(before);
    });
  });

  describe('Method: getWorkloadEntry', () => {
    it('returns a stored entry', async () => {
      const stored = await mesh.applyWorkloadEntry(anEntry('payments-get-1'));

      const found = await mesh.getWorkloadEntry({ namespace: 'payments', name: 'payments-get-1' });

      expect(found).toMatchObject({ kind: 'WorkloadEntry', metadata: { uid: stored.metadata.uid, labels: { app: 'payments' } } });
    });

    it('returns undefined for a missing entry', async () => {
      const found = await mesh.getWorkloadEntry({ namespace: 'payments', name: 'no-such-entry' });

      expect(found).toBeUndefined();
    });
  });

  describe('Method: getWorkloadGroup', () => {
    it('reads a seeded group', async () => {
      double.seed({
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadGroup',
        metadata: { name: 'payments', namespace: 'payments' },
        spec: { metadata: { labels: { app: 'payments' } }, template: { serviceAccount: 'payments', ports: { http: 8080 } } },
      });

      const group = await mesh.getWorkloadGroup({ namespace: 'payments', name: 'payments' });

      expect(group).toMatchObject({ kind: 'WorkloadGroup', spec: { template: { serviceAccount: 'payments' } } });
      expect(group?.metadata.uid).toBeDefined();
    });
  });

  describe('Method: listWorkloadEntries', () => {
    beforeAll(async () => {
      const lister = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 });
      await lister.applyWorkloadEntry(anEntry('orders-list-1', 'orders'));
      await lister.applyWorkloadEntry(anEntry('orders-list-2', 'orders'));
      await lister.applyWorkloadEntry(anEntry('billing-list-1', 'billing'));
      await lister.applyWorkloadEntry({ ...anEntry('billing-list-2', 'billing'), metadata: { name: 'billing-list-2', namespace: 'billing', labels: { app: 'billing' } } });
    });

    it('lists entries matching the labels in one namespace', async () => {
      const entries = await mesh.listWorkloadEntries({ ...MANAGED, app: 'orders' }, 'orders');

      expect(entries.map((e) => e.metadata.name)).toEqual(['orders-list-1', 'orders-list-2']);
      expect(double.requests.at(-1)).toMatchObject({ path: '/apis/networking.istio.io/v1/namespaces/orders/workloadentries' });
    });

    it('lists entries matching the labels across namespaces', async () => {
      const entries = await mesh.listWorkloadEntries(MANAGED);

      const names = entries.map((e) => `${e.metadata.namespace}/${e.metadata.name}`);
      expect(names).toEqual(expect.arrayContaining(['billing/billing-list-1', 'orders/orders-list-1', 'orders/orders-list-2']));
      expect(names).not.toContain('billing/billing-list-2');
      expect(double.requests.at(-1)).toMatchObject({ path: '/apis/networking.istio.io/v1/workloadentries' });
    });
  });

  describe('Method: deleteWorkloadEntry', () => {
    it('deletes an entry whose preconditions hold', async () => {
      const stored = await mesh.applyWorkloadEntry(anEntry('payments-delete-1'));

      const deleted = await mesh.deleteWorkloadEntry(stored.metadata, { uid: stored.metadata.uid as string, resourceVersion: stored.metadata.resourceVersion });

      expect(deleted).toBe(true);
      expect(double.objects('WorkloadEntry').map((o) => o.metadata.name)).not.toContain('payments-delete-1');
    });

    it('refuses a delete whose uid no longer matches', async () => {
      await mesh.applyWorkloadEntry(anEntry('payments-delete-2'));

      const attempt = mesh.deleteWorkloadEntry({ namespace: 'payments', name: 'payments-delete-2' }, { uid: '00000000-0000-4000-8000-000000000000' });

      await expect(attempt).rejects.toBeInstanceOf(MeshPreconditionError);
      expect(double.objects('WorkloadEntry').map((o) => o.metadata.name)).toContain('payments-delete-2');
    });

    it('refuses a delete whose resourceVersion is stale', async () => {
      const first = await mesh.applyWorkloadEntry(anEntry('payments-delete-3'));
      await mesh.applyWorkloadEntry(anEntry('payments-delete-3', 'payments', { weight: 2 }));

      const attempt = mesh.deleteWorkloadEntry(first.metadata, { uid: first.metadata.uid as string, resourceVersion: first.metadata.resourceVersion });

      await expect(attempt).rejects.toBeInstanceOf(MeshPreconditionError);
    });

    it('returns false when the entry is already gone', async () => {
      const deleted = await mesh.deleteWorkloadEntry({ namespace: 'payments', name: 'never-existed' }, { uid: '00000000-0000-4000-8000-000000000000' });

      expect(deleted).toBe(false);
    });
  });

  describe('Failures', () => {
    it('reports a wrong token as a retryable 401 without echoing the token', async () => {
      const wrong = new KubernetesMeshApi({ baseUrl: double.url, token: async () => 'stale-token-9c1d', timeoutMs: 2000 });

      const attempt = wrong.getWorkloadEntry({ namespace: 'payments', name: 'x' });

      await expect(attempt).rejects.toBeInstanceOf(MeshApiError);
      await expect(attempt).rejects.toMatchObject({ status: 401, retryable: true });
      await expect(attempt).rejects.not.toHaveProperty('message', expect.stringContaining('stale-token-9c1d'));
    });

    it('retries once with a fresh token after a 401', async () => {
      const tokens = ['rotated-away', TOKEN];
      const token = Object.assign(async () => tokens[0] as string, { invalidate: () => void tokens.shift() });
      const rotating = new KubernetesMeshApi({ baseUrl: double.url, token, timeoutMs: 2000 });

      const found = await rotating.getWorkloadEntry({ namespace: 'payments', name: 'no-such-entry' });

      expect(found).toBeUndefined();
      expect(tokens).toEqual([TOKEN]);
    });

    it('reports an outage as a retryable error with its status', async () => {
      double.setOutage(503);

      const attempt = mesh.listWorkloadEntries(MANAGED);

      await expect(attempt).rejects.toMatchObject({ name: 'MeshApiError', status: 503, retryable: true });
    });

    it('reports one injected 429 and then recovers', async () => {
      double.failNext(429);

      const first = mesh.getWorkloadEntry({ namespace: 'payments', name: 'x' });

      await expect(first).rejects.toMatchObject({ status: 429, retryable: true });
      await expect(mesh.getWorkloadEntry({ namespace: 'payments', name: 'x' })).resolves.toBeUndefined();
    });

    it('gives up after the timeout when the server is slow', async () => {
      double.setLatency(500);
      const impatient = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 100 });

      const attempt = impatient.getWorkloadEntry({ namespace: 'payments', name: 'x' });

      await expect(attempt).rejects.toMatchObject({ name: 'MeshApiError', retryable: true, message: expect.stringContaining('100 ms') });
    });

    it('reports a refused connection as retryable', async () => {
      const stopped = await KubernetesApiDouble.start({ token: TOKEN });
      const baseUrl = stopped.url;
      await stopped.stop();
      const nowhere = new KubernetesMeshApi({ baseUrl, token: async () => TOKEN, timeoutMs: 2000 });

      const attempt = nowhere.getWorkloadEntry({ namespace: 'payments', name: 'x' });

      await expect(attempt).rejects.toMatchObject({ name: 'MeshApiError', retryable: true, message: expect.stringContaining('ECONNREFUSED') });
    });
  });
});
