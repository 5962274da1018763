import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesMeshApi } from '../../shared/adapters/kubernetes-mesh-api.js';
import { KubernetesWorkloadGroupReader } from '../../shared/adapters/kubernetes-workload-groups.js';
import type { WorkloadEntry } from '../../shared/core/kubernetes-types.js';
import { MeshApiError, MeshFieldConflictError, MeshPreconditionError, MeshValidationError, UpstreamThrottledError } from '../../shared/errors.js';
import { KubernetesApiDouble } from '../support/kubernetes-api-double.js';
import { istiodOverHttp, ISTIOD_RBAC } from '../support/istiod-model/http-store.js';
import { sidecarConnectionOf } from '../support/istiod-model/workload-entry-controller.js';

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
    double.setPriorityAndFairness(undefined);
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
      expect(last).toMatchObject({ method: 'PATCH', query: { fieldManager: 'ecs-mesh-onboarding' } });
      expect(last?.query.force).toBeUndefined(); // the entry is shared with istiod: nothing is taken unasked
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

  describe("Co-writers: istiod's annotations and status", () => {
    const istiodOf = () => {
      double.addIdentity('istiod-token', ISTIOD_RBAC);
      return istiodOverHttp(double.url, 'istiod-token');
    };
    /** An entry with health checks on, the only kind istiod writes (IsEligibleForHealthStatusUpdates). */
    const healthChecked = (entry: WorkloadEntry, annotations: Record<string, string> = {}): WorkloadEntry => ({
      ...entry,
      metadata: { ...entry.metadata, annotations: { ...annotations, 'proxy.istio.io/health-checks-enabled': 'true' } },
    });
    const held = (name: string) => double.objects('WorkloadEntry').find((o) => o.metadata.name === name);

    it('re-applies without a write and leaves istiod its fields; the entry says which keys are ours', async () => {
      const istiod = istiodOf();
      const entry = healthChecked(anEntry('payments-cowrite-1'), { 'ecsmesh.io/task-arn': 'arn:t' });
      await mesh.applyWorkloadEntry(entry);
      const conn = sidecarConnectionOf(entry, new Date('2026-12-05T05:00:00Z'));
      expect(await istiod.onConnect(conn)).toBe('payments-cowrite-1');
      await istiod.reportHealth(conn.proxy, { healthy: true }, new Date('2026-12-05T05:00:01Z'));
      const before = held('payments-cowrite-1');

      const again = await mesh.applyWorkloadEntry(entry);

      expect(again.metadata.resourceVersion).toBe(before?.metadata.resourceVersion); // nothing changed, nothing written
      expect(again.metadata.annotations).toMatchObject({ 'istio.io/workloadController': istiod.instanceId, 'ecsmesh.io/task-arn': 'arn:t' });
      expect(again.ownedKeys).toEqual({ labels: Object.keys(entry.metadata.labels ?? {}), annotations: ['ecsmesh.io/task-arn', 'proxy.istio.io/health-checks-enabled'] });
      expect(held('payments-cowrite-1')?.status).toEqual({ conditions: [expect.objectContaining({ type: 'Healthy', status: 'True' })] });
      const [listed] = await mesh.listWorkloadEntries({ app: 'payments' }, 'payments').then((all) => all.filter((e) => e.metadata.name === 'payments-cowrite-1'));
      expect(listed?.ownedKeys?.annotations).toEqual(['ecsmesh.io/task-arn', 'proxy.istio.io/health-checks-enabled']);
    });

    it('takes back a field of ours another writer changed, forcing only after the conflict', async () => {
      const entry = anEntry('payments-cowrite-2');
      await mesh.applyWorkloadEntry(entry);
      const live = held('payments-cowrite-2')!;
      double.adminReplace({ ...live, spec: { ...(live.spec as object), address: '10.9.9.9' } });
      const before = double.requests.length;

      const repaired = await mesh.applyWorkloadEntry(entry);

      expect(repaired.spec.address).toBe('10.0.1.23');
      expect(double.requests.slice(before).map((r) => r.query.force ?? 'no force')).toEqual(['no force', 'true']);
    });

    it('refuses to take a field istiod owns: MeshFieldConflictError names it, and the entry keeps istiod’s value', async () => {
      const istiod = istiodOf();
      const entry = healthChecked(anEntry('payments-cowrite-3'));
      await mesh.applyWorkloadEntry(entry);
      expect(await istiod.onConnect(sidecarConnectionOf(entry, new Date('2026-12-05T05:00:00Z')))).toBe('payments-cowrite-3');
      const claiming = { ...entry, metadata: { ...entry.metadata, annotations: { ...entry.metadata.annotations, 'istio.io/connectedAt': '1999-01-01T00:00:00Z' } } };

      const error = await mesh.applyWorkloadEntry(claiming).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MeshFieldConflictError);
      expect(error).toMatchObject({ code: 'MESH_FIELD_CONFLICT', retryable: false, conflicts: [{ manager: 'pilot-discovery', field: '.metadata.annotations.istio.io/connectedAt' }] });
      expect((error as Error).message).toMatch(/istiod/);
      // RFC 3339 as istiod writes it (controller.go timeFormat, RFC3339Nano: no trailing zeros).
      expect(held('payments-cowrite-3')?.metadata.annotations).toMatchObject({ 'istio.io/connectedAt': '2026-12-05T05:00:00Z' });
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

    describe('in pages', () => {
      const PAGED = '/apis/networking.istio.io/v1/namespaces/paged/workloadentries';
      const listRequests = (from: number) => double.requests.slice(from).filter((r) => r.path === PAGED);

      beforeAll(async () => {
        const lister = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 });
        for (const n of [1, 2, 3, 4, 5]) await lister.applyWorkloadEntry(anEntry(`paged-${n}`, 'paged'));
      });

      it('asks for a page of 500 at a time by default', async () => {
        await mesh.listWorkloadEntries(MANAGED, 'paged');

        expect(double.requests.at(-1)?.query).toMatchObject({ limit: '500' });
        expect(double.requests.at(-1)?.query).not.toHaveProperty('continue');
      });

      it('reads every page, following continue until the server sends none', async () => {
        const paging = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000, listPageSize: 2 });
        const from = double.requests.length;

        const entries = await paging.listWorkloadEntries(MANAGED, 'paged');

        expect(entries.map((e) => e.metadata.name)).toEqual(['paged-1', 'paged-2', 'paged-3', 'paged-4', 'paged-5']);
        const pages = listRequests(from);
        expect(pages.map((r) => r.query.limit)).toEqual(['2', '2', '2']);
        expect(pages[0]?.query).not.toHaveProperty('continue');
        expect(pages.slice(1).every((r) => typeof r.query.continue === 'string' && r.query.continue !== '')).toBe(true);
      });

      it('starts over when the continue token expires mid-list (410 Gone), and returns each entry once', async () => {
        let sent = 0;
        // The token is asked for before every request: the second one (page 2) finds its continue token expired.
        const token = async () => {
          if (++sent === 2) double.expireContinueTokens();
          return TOKEN;
        };
        const paging = new KubernetesMeshApi({ baseUrl: double.url, token, timeoutMs: 2000, listPageSize: 2 });
        const from = double.requests.length;

        const entries = await paging.listWorkloadEntries(MANAGED, 'paged');

        expect(entries.map((e) => e.metadata.name)).toEqual(['paged-1', 'paged-2', 'paged-3', 'paged-4', 'paged-5']);
        expect(listRequests(from).map((r) => r.query.continue === undefined)).toEqual([true, false, true, false, false]);
      });

      it('fails retryably when the list expires again after starting over', async () => {
        // Every token is expired by the time it is sent.
        const token = async () => {
          double.expireContinueTokens();
          return TOKEN;
        };
        const paging = new KubernetesMeshApi({ baseUrl: double.url, token, timeoutMs: 2000, listPageSize: 2 });

        const attempt = paging.listWorkloadEntries(MANAGED, 'paged');

        await expect(attempt).rejects.toBeInstanceOf(MeshApiError);
        await expect(attempt).rejects.toMatchObject({ status: 410, retryable: true });
      });
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

    it('reports a 429 without Retry-After as throttling at once, as client-go does, and then recovers', async () => {
      double.failNext(429);
      const from = double.requests.length;

      const first = mesh.getWorkloadEntry({ namespace: 'payments', name: 'x' });

      await expect(first).rejects.toBeInstanceOf(UpstreamThrottledError);
      await expect(first).rejects.toMatchObject({ code: 'UPSTREAM_THROTTLED', retryable: true, message: expect.stringContaining('no Retry-After') });
      expect(double.requests.length - from).toBe(1);
      await expect(mesh.getWorkloadEntry({ namespace: 'payments', name: 'x' })).resolves.toBeUndefined();
    });

    describe('API Priority and Fairness (429 with Retry-After)', () => {
      it('waits the Retry-After and sends the write again', async () => {
        double.setPriorityAndFairness({ seats: 0, retryAfterSeconds: 2 });
        const waits: number[] = [];
        // The wait is where the server's burst drains: here it lifts the limit instead of a clock passing.
        const sleep = async (ms: number) => {
          waits.push(ms);
          double.setPriorityAndFairness(undefined);
        };
        const patient = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000, sleep });
        const from = double.requests.length;

        const stored = await patient.applyWorkloadEntry(anEntry('payments-throttled-1'));

        expect(stored.metadata.uid).toBeDefined();
        expect(waits).toEqual([2000]);
        expect(double.requests.slice(from).map((r) => [r.method, r.throttled])).toEqual([
          ['PATCH', true],
          ['PATCH', false],
        ]);
      });

      it('serves a burst beyond the seats in the end, each throttled caller waiting the Retry-After', async () => {
        double.setPriorityAndFairness({ seats: 2, retryAfterSeconds: 1 });
        double.setLatency(200);
        const waits: number[] = [];
        const sleep = async (ms: number) => {
          waits.push(ms);
          await double.idle();
        };
        const patient = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000, sleep });
        const from = double.requests.length;

        const found = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => patient.getWorkloadEntry({ namespace: 'payments', name: `burst-${n}` })));

        expect(found).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
        const throttled = double.requests.slice(from).filter((r) => r.throttled);
        expect(throttled.length).toBeGreaterThan(0);
        expect(waits).toEqual(throttled.map(() => 1000));
      });

      it('gives up after its attempts with a retryable UpstreamThrottledError', async () => {
        double.setPriorityAndFairness({ seats: 0 });
        const waits: number[] = [];
        const patient = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000, sleep: async (ms) => void waits.push(ms) });
        const from = double.requests.length;

        const attempt = patient.deleteWorkloadEntry({ namespace: 'payments', name: 'x' }, { uid: '00000000-0000-4000-8000-000000000000' });

        await expect(attempt).rejects.toBeInstanceOf(UpstreamThrottledError);
        await expect(attempt).rejects.toMatchObject({ code: 'UPSTREAM_THROTTLED', retryable: true, message: expect.stringContaining('after 3 attempt(s)') });
        expect(waits).toEqual([1000, 1000]);
        expect(double.requests.slice(from).map((r) => r.throttled)).toEqual([true, true, true]);
      });

      it('does not wait a Retry-After longer than it allows: it gives up at once', async () => {
        double.setPriorityAndFairness({ seats: 0, retryAfterSeconds: 120 });
        const waits: number[] = [];
        const patient = new KubernetesMeshApi({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000, sleep: async (ms) => void waits.push(ms) });
        const from = double.requests.length;

        const attempt = patient.getWorkloadEntry({ namespace: 'payments', name: 'x' });

        await expect(attempt).rejects.toMatchObject({ name: 'UpstreamThrottledError', message: expect.stringContaining('Retry-After: 120') });
        expect(waits).toEqual([]);
        expect(double.requests.length - from).toBe(1);
      });
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

describe('Class: KubernetesWorkloadGroupReader', () => {
  let double: KubernetesApiDouble;

  beforeAll(async () => {
    double = await KubernetesApiDouble.start({ token: TOKEN });
    double.seed({
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadGroup',
      metadata: { name: 'ratings', namespace: 'bookinfo' },
      spec: { metadata: { labels: { app: 'ratings' } }, template: { serviceAccount: 'ratings', ports: { http: 9080 } } },
    });
  });

  afterAll(async () => {
    await double.stop();
  });

  it('reads a group, and a missing one as undefined, over its own connection', async () => {
    const reader = new KubernetesWorkloadGroupReader({ baseUrl: double.url, token: async () => TOKEN, timeoutMs: 2000 });

    const [found, missing] = await Promise.all([reader.getWorkloadGroup({ namespace: 'bookinfo', name: 'ratings' }), reader.getWorkloadGroup({ namespace: 'bookinfo', name: 'absent' })]);

    expect(found).toMatchObject({ kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo' }, spec: { template: { serviceAccount: 'ratings' } } });
    expect(missing).toBeUndefined();
  });

  it('fails as the writer does: a retryable MeshApiError on an outage, after the token was renewed once on a 401', async () => {
    let tokens = 0;
    const token = Object.assign(async () => (tokens++ === 0 ? 'stale-token' : TOKEN), { invalidate: () => {} });
    const reader = new KubernetesWorkloadGroupReader({ baseUrl: double.url, token, timeoutMs: 2000 });

    await expect(reader.getWorkloadGroup({ namespace: 'bookinfo', name: 'ratings' })).resolves.toMatchObject({ metadata: { name: 'ratings' } });
    expect(tokens).toBe(2);
    double.setOutage(503);
    await expect(reader.getWorkloadGroup({ namespace: 'bookinfo', name: 'ratings' })).rejects.toMatchObject({ name: 'MeshApiError', retryable: true, status: 503 });
    double.setOutage(undefined);
  });
});
