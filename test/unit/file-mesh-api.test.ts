import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FILE_UID_ANNOTATION, FileMeshApi } from '../../shared/adapters/file-mesh-api.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { MeshPreconditionError, MeshValidationError } from '../../shared/errors.js';

const MANAGED = { 'app.kubernetes.io/managed-by': 'ecs-mesh-onboarding' };

const anEntry = (name: string, namespace = 'payments', spec: Partial<WorkloadEntry['spec']> = {}): WorkloadEntry => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: { name, namespace, labels: { ...MANAGED, app: namespace }, annotations: { 'ecsmesh.io/event-version': '3' } },
  spec: { address: '10.0.1.23', ports: { http: 8080 }, serviceAccount: namespace, ...spec },
});

const GROUPS_YAML = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: payments
  namespace: payments
spec:
  template:
    serviceAccount: payments
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: payments
  namespace: payments
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: orders
  namespace: orders
spec:
  template:
    ports:
      http: 9090
`;

describe('Class: FileMeshApi', () => {
  let dir: string;
  let mesh: FileMeshApi;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-mesh-api-'));
    mesh = new FileMeshApi(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('Method: getWorkloadGroup', () => {
    it('finds a group in a multi-document file and ignores other kinds', async () => {
      await mkdir(join(dir, 'workloadgroups', 'team-a'), { recursive: true });
      await writeFile(join(dir, 'workloadgroups', 'team-a', 'groups.yml'), GROUPS_YAML);

      const orders = await mesh.getWorkloadGroup({ namespace: 'orders', name: 'orders' });

      expect(orders).toMatchObject({ kind: 'WorkloadGroup', spec: { template: { ports: { http: 9090 } } } });
    });

    it('returns undefined when there is no group directory', async () => {
      const group = await mesh.getWorkloadGroup({ namespace: 'payments', name: 'payments' });

      expect(group).toBeUndefined();
    });
  });

  describe('Method: applyWorkloadEntry', () => {
    it('writes one YAML file per entry with a uid and resourceVersion', async () => {
      const stored = await mesh.applyWorkloadEntry(anEntry('payments-1'));

      const file = parse(await readFile(join(dir, 'workloadentries', 'payments', 'payments-1.yaml'), 'utf8'));
      expect(stored.metadata).toMatchObject({ uid: expect.stringMatching(/^[0-9a-f-]{36}$/), resourceVersion: '1' });
      expect(file.metadata.annotations[FILE_UID_ANNOTATION]).toBe(stored.metadata.uid);
      expect(file.metadata).not.toHaveProperty('uid');
      expect(file.spec).toEqual(anEntry('payments-1').spec);
    });

    it('keeps the uid and bumps the resourceVersion on a change', async () => {
      const first = await mesh.applyWorkloadEntry(anEntry('payments-1'));

      const second = await mesh.applyWorkloadEntry(anEntry('payments-1', 'payments', { address: '10.0.1.99' }));

      expect(second.metadata).toMatchObject({ uid: first.metadata.uid, resourceVersion: '2' });
      expect(await mesh.getWorkloadEntry({ namespace: 'payments', name: 'payments-1' })).toEqual(second);
    });

    it('sets creationTimestamp on create, to the second, as an API server does, and keeps it through changes', async () => {
      let now = new Date('2026-08-01T12:00:00.789Z');
      const clocked = new FileMeshApi(dir, () => now);

      const created = await clocked.applyWorkloadEntry(anEntry('payments-1'));
      now = new Date('2026-08-01T12:05:00Z');
      const changed = await clocked.applyWorkloadEntry(anEntry('payments-1', 'payments', { address: '10.0.1.99' }));

      expect(created.metadata.creationTimestamp).toBe('2026-08-01T12:00:00Z');
      expect(changed.metadata).toMatchObject({ resourceVersion: '2', creationTimestamp: '2026-08-01T12:00:00Z' });
      expect(await clocked.getWorkloadEntry({ namespace: 'payments', name: 'payments-1' })).toEqual(changed);
      expect(await clocked.listWorkloadEntries(MANAGED)).toEqual([changed]);
    });

    it('ignores a creationTimestamp the client sends, on create and on update', async () => {
      const clocked = new FileMeshApi(dir, () => new Date('2026-08-01T12:00:00Z'));
      const forged = (address: string) => {
        const entry = anEntry('payments-1', 'payments', { address });
        return { ...entry, metadata: { ...entry.metadata, creationTimestamp: '2001-01-01T00:00:00Z' } };
      };

      const created = await clocked.applyWorkloadEntry(forged('10.0.1.23'));
      const same = await clocked.applyWorkloadEntry(forged('10.0.1.23'));
      const changed = await clocked.applyWorkloadEntry(forged('10.0.1.99'));

      expect([created, same, changed].map((e) => [e.metadata.resourceVersion, e.metadata.creationTimestamp])).toEqual([
        ['1', '2026-08-01T12:00:00Z'],
        ['1', '2026-08-01T12:00:00Z'],
        ['2', '2026-08-01T12:00:00Z'],
      ]);
    });

    it('keeps the resourceVersion when nothing changed', async () => {
      const first = await mesh.applyWorkloadEntry(anEntry('payments-1'));

      const again = await mesh.applyWorkloadEntry(first);

      expect(again.metadata.resourceVersion).toBe('1');
    });

    it('refuses an invalid entry and writes nothing', async () => {
      const attempt = mesh.applyWorkloadEntry(anEntry('payments-1', 'payments', { ports: { http_alt: 8080 } }));

      await expect(attempt).rejects.toBeInstanceOf(MeshValidationError);
      await expect(attempt).rejects.toMatchObject({ problems: ['spec.ports: port name must be valid'] });
      await expect(readdir(dir)).resolves.toEqual([]);
    });

    it('leaves no temporary files behind', async () => {
      await mesh.applyWorkloadEntry(anEntry('payments-1'));

      const files = await readdir(join(dir, 'workloadentries', 'payments'));

      expect(files).toEqual(['payments-1.yaml']);
    });
  });

  describe('Method: getWorkloadEntry', () => {
    it('returns undefined for a missing entry', async () => {
      const entry = await mesh.getWorkloadEntry({ namespace: 'payments', name: 'missing' });

      expect(entry).toBeUndefined();
    });

    it('never reads outside the directory', async () => {
      const entry = await mesh.getWorkloadEntry({ namespace: '..', name: '..' });

      expect(entry).toBeUndefined();
    });
  });

  describe('Method: deleteWorkloadEntry', () => {
    it('deletes an entry whose preconditions hold', async () => {
      const stored = await mesh.applyWorkloadEntry(anEntry('payments-1'));

      const deleted = await mesh.deleteWorkloadEntry(stored.metadata, { uid: stored.metadata.uid as string, resourceVersion: '1' });

      expect(deleted).toBe(true);
      expect(await mesh.getWorkloadEntry(stored.metadata)).toBeUndefined();
    });

    it('refuses a delete whose uid no longer matches', async () => {
      const stored = await mesh.applyWorkloadEntry(anEntry('payments-1'));

      const attempt = mesh.deleteWorkloadEntry(stored.metadata, { uid: '00000000-0000-4000-8000-000000000000' });

      await expect(attempt).rejects.toBeInstanceOf(MeshPreconditionError);
      expect(await mesh.getWorkloadEntry(stored.metadata)).toEqual(stored);
    });

    it('refuses a delete whose resourceVersion is stale', async () => {
      const first = await mesh.applyWorkloadEntry(anEntry('payments-1'));
      await mesh.applyWorkloadEntry(anEntry('payments-1', 'payments', { weight: 3 }));

      const attempt = mesh.deleteWorkloadEntry(first.metadata, { uid: first.metadata.uid as string, resourceVersion: '1' });

      await expect(attempt).rejects.toBeInstanceOf(MeshPreconditionError);
    });

    it('returns false when the entry is already gone', async () => {
      const deleted = await mesh.deleteWorkloadEntry({ namespace: 'payments', name: 'missing' }, { uid: 'x' });

      expect(deleted).toBe(false);
    });
  });

  describe('Method: listWorkloadEntries', () => {
    beforeEach(async () => {
      await mesh.applyWorkloadEntry(anEntry('orders-1', 'orders'));
      await mesh.applyWorkloadEntry(anEntry('payments-1', 'payments'));
      await mesh.applyWorkloadEntry(anEntry('payments-2', 'payments'));
    });

    it('lists entries matching every label in one namespace', async () => {
      const entries = await mesh.listWorkloadEntries({ ...MANAGED, app: 'payments' }, 'payments');

      expect(entries.map((e) => e.metadata.name)).toEqual(['payments-1', 'payments-2']);
    });

    it('lists entries across namespaces', async () => {
      const entries = await mesh.listWorkloadEntries(MANAGED);

      expect(entries.map((e) => `${e.metadata.namespace}/${e.metadata.name}`)).toEqual(['orders/orders-1', 'payments/payments-1', 'payments/payments-2']);
    });

    it('returns nothing when no entry has the labels', async () => {
      const entries = await mesh.listWorkloadEntries({ app: 'billing' });

      expect(entries).toEqual([]);
    });
  });
});
