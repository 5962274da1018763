/**
 * The istiod model's WorkloadEntry controller (test/support/istiod-model/workload-entry-controller.ts).
 * Each `describe` names the upstream test of istio pilot/pkg/autoregistration/controller_test.go it
 * ports, at ISTIO_COMMIT, with upstream's fixtures (weB, fakeProxySuitableForHealthChecks) and
 * case names. Upstream waits on asynchronous queues (retry.UntilSuccessOrFail, time.Sleep); the
 * model runs each step when called and takes time as an argument, so these tests do not wait.
 */
import { describe, expect, it } from 'vitest';
import { endpointsForService, withDefaultedTargetPorts } from '../support/istiod-model/endpoints.js';
import { MemoryWorkloadEntryStore } from '../support/istiod-model/memory-store.js';
import {
  ensureProxyCanControlEntry,
  formatIstiodTime,
  WorkloadEntryControllerModel,
  type ModelConnection,
  type ModelProxy,
  type StoredWorkloadEntry,
} from '../support/istiod-model/workload-entry-controller.js';

/** upstream: weB. */
const weB = (): StoredWorkloadEntry => ({
  metadata: { name: 'we-without-auto-registration', namespace: 'b', annotations: { 'proxy.istio.io/health-checks-enabled': 'true' } },
  spec: { address: '10.0.0.1', network: 'nw0' },
});

/** upstream: fakeProxySuitableForHealthChecks. */
const fakeProxySuitableForHealthChecks = (we: StoredWorkloadEntry): ModelProxy => ({
  id: `${we.metadata.name}.${we.metadata.namespace}`,
  ipAddresses: [we.spec.address ?? ''],
  namespace: we.metadata.namespace,
  network: we.spec.network ?? '',
  workloadEntry: we.metadata.name,
  verifiedIdentity: { namespace: we.metadata.namespace, serviceAccount: 'my-sa' },
});

/** upstream: makeConn, whose ID is the proxy's IP and the connect time. */
const makeConn = (proxy: ModelProxy, connectedAt: Date): ModelConnection => ({ id: `${proxy.ipAddresses[0]}-${connectedAt.toISOString()}`, proxy, connectedAt });

const T0 = new Date('2026-08-22T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

/** upstream: setup, two istiod instances over one store. */
function setup(entry = weB()) {
  const store = new MemoryWorkloadEntryStore();
  store.create(entry);
  const c1 = new WorkloadEntryControllerModel({ instanceId: 'pilot-1', store });
  const c2 = new WorkloadEntryControllerModel({ instanceId: 'pilot-2', store });
  return { store, c1, c2 };
}

/** upstream: checkNonAutoRegisteredEntryOrFail. */
function expectConnectedTo(store: MemoryWorkloadEntryStore, connectedTo: string): void {
  const annotations = store.get('b', 'we-without-auto-registration')?.metadata.annotations ?? {};
  if (connectedTo !== '') {
    expect(annotations['istio.io/workloadController']).toBe(connectedTo);
    expect(annotations).toHaveProperty(['istio.io/connectedAt']);
  } else {
    expect(annotations).toHaveProperty(['istio.io/disconnectedAt']);
  }
}

const healthOf = (store: MemoryWorkloadEntryStore) => store.get('b', 'we-without-auto-registration')?.status?.conditions?.find((c) => c.type === 'Healthy');

describe('TestNonAutoregisteredWorkloads_UnsuitableForHealthChecks_WorkloadEntryNotFound', () => {
  it('refuses the connection of a proxy naming a WorkloadEntry that does not exist', async () => {
    const { c1 } = setup();
    const proxy = { ...fakeProxySuitableForHealthChecks(weB()), workloadEntry: 'non-exisiting-workload-entry' };
    await expect(c1.onConnect(makeConn(proxy, T0))).rejects.toThrow('WorkloadEntry b/non-exisiting-workload-entry is not found');
  });
});

describe('TestNonAutoregisteredWorkloads_UnsuitableForHealthChecks_ShouldNotBeTreatedAsConnected', () => {
  it.each([
    { name: 'when proxy.Metadata.WorkloadEntry is not set', we: weB, proxy: (we: StoredWorkloadEntry) => ({ ...fakeProxySuitableForHealthChecks(we), workloadEntry: '' }) },
    {
      name: "when 'proxy.istio.io/health-checks-enabled' annotation is missing",
      we: (): StoredWorkloadEntry => ({ ...weB(), metadata: { ...weB().metadata, annotations: {} } }),
      proxy: fakeProxySuitableForHealthChecks,
    },
  ])('$name', async ({ we, proxy }) => {
    const { store, c1 } = setup(we());
    const before = store.get('b', 'we-without-auto-registration');
    expect(await c1.onConnect(makeConn(proxy(we()), T0))).toBeUndefined();
    expect(store.get('b', 'we-without-auto-registration')?.metadata.annotations).toEqual(before?.metadata.annotations);
    expect(store.writes.filter((w) => w.verb !== 'create')).toEqual([]);
  });
});

describe('TestNonAutoregisteredWorkloads_SuitableForHealthChecks_ShouldBeTreatedAsConnected', () => {
  it.each(['', 'false', 'true'])("when 'proxy.istio.io/health-checks-enabled' annotation has value %j", async (value) => {
    const we: StoredWorkloadEntry = { ...weB(), metadata: { ...weB().metadata, annotations: { 'proxy.istio.io/health-checks-enabled': value } } };
    const { store, c1 } = setup(we);
    await c1.onConnect(makeConn(fakeProxySuitableForHealthChecks(we), T0));
    const annotations = store.get('b', 'we-without-auto-registration')?.metadata.annotations ?? {};
    expect(annotations['istio.io/workloadController']).toBe('pilot-1');
    expect(annotations['istio.io/connectedAt']).toBe(formatIstiodTime(T0));
  });
});

describe('TestNonAutoregisteredWorkloads_SuitableForHealthChecks_ShouldSupportLifecycle', () => {
  // One sequence, as upstream's subtests share their state.
  it('initial connect, reconnects to the same and another instance, then a disconnect longer than the grace period', async () => {
    const { store, c1, c2 } = setup();
    const p = fakeProxySuitableForHealthChecks(weB());

    // initial connect
    let origConnTime = at(0);
    await c1.onConnect(makeConn(p, origConnTime));
    expectConnectedTo(store, 'pilot-1');

    // reconnect / same instance: disconnect then connect
    await c1.onDisconnect(makeConn(p, origConnTime), at(100));
    expectConnectedTo(store, '');
    origConnTime = at(200);
    await c1.onConnect(makeConn(p, origConnTime));
    expectConnectedTo(store, 'pilot-1');

    // reconnect / same instance: connect before disconnect
    let nextConnTime = at(210);
    await c1.onConnect(makeConn(p, nextConnTime));
    expectConnectedTo(store, 'pilot-1');
    await c1.onDisconnect(makeConn(p, origConnTime), at(220)); // the original connection's, not the reconnect's
    expectConnectedTo(store, 'pilot-1');
    origConnTime = nextConnTime;

    // reconnect / different instance: disconnect then connect
    await c1.onDisconnect(makeConn(p, origConnTime), at(300));
    expectConnectedTo(store, '');
    origConnTime = at(400);
    await c2.onConnect(makeConn(p, origConnTime));
    expectConnectedTo(store, 'pilot-2');

    // reconnect / different instance: connect before disconnect
    nextConnTime = at(410);
    await c2.onConnect(makeConn(p, nextConnTime));
    expectConnectedTo(store, 'pilot-2');
    await c2.onDisconnect(makeConn(p, origConnTime), at(420));
    expectConnectedTo(store, 'pilot-2');
    origConnTime = nextConnTime;

    // disconnect for longer than grace period
    await c2.reportHealth(p, { healthy: true }, at(500));
    expect(healthOf(store)?.status).toBe('True');
    await c2.onDisconnect(makeConn(p, origConnTime), at(600));
    expectConnectedTo(store, '');
    await c2.runDueCleanups(at(600 + 9_999));
    expect(healthOf(store)?.status).toBe('True');
    await c2.runDueCleanups(at(600 + 10_000));
    expect(healthOf(store)).toBeUndefined();
  });
});

describe('TestNonAutoregisteredWorkloads_SuitableForHealthChecks_ShouldUpdateHealthCondition', () => {
  it('healthy, then unhealthy with the message', async () => {
    const { store, c1 } = setup();
    const p = fakeProxySuitableForHealthChecks(weB());
    await c1.onConnect(makeConn(p, T0));
    await c1.reportHealth(p, { healthy: true }, at(1));
    expect(healthOf(store)).toMatchObject({ status: 'True' });
    await c1.reportHealth(p, { healthy: false, message: 'lol health bad' }, at(2));
    expect(healthOf(store)).toMatchObject({ status: 'False', message: 'lol health bad' });
  });
});

// From TestAutoregistrationLifecycle's identity subtests; ensureProxyCanControlEntry is the same
// check on the health-checked path, so the rows run against weB with a service account.
describe('TestAutoregistrationLifecycle (unverified client, wrong SA client, wrong NS client, no SA WG): ensureProxyCanControlEntry', () => {
  const withSa: StoredWorkloadEntry = { ...weB(), spec: { ...weB().spec, serviceAccount: 'sa-a' } };
  const proxy = fakeProxySuitableForHealthChecks(withSa);
  it.each([
    ['unverified client', { ...proxy, verifiedIdentity: undefined }, withSa, 'requires a verified identity'],
    ['wrong SA client', { ...proxy, verifiedIdentity: { namespace: 'b', serviceAccount: 'wrong' } }, withSa, 'service account mismatch: "wrong" vs "sa-a"'],
    ['wrong NS client', { ...proxy, verifiedIdentity: { namespace: 'wrong', serviceAccount: 'sa-a' } }, withSa, 'namespace mismatch: "wrong" vs "b"'],
  ] as const)('%s: refused', async (_name, client, entry, message) => {
    expect(() => ensureProxyCanControlEntry(client, entry)).toThrow(message);
    const { store, c1 } = setup(entry);
    await expect(c1.onConnect(makeConn(client, T0))).rejects.toThrow(message);
    expect(store.writes.filter((w) => w.verb !== 'create')).toEqual([]);
  });

  it('no SA WG: any service account of the namespace may control an entry without one', () => {
    expect(() => ensureProxyCanControlEntry({ ...proxy, verifiedIdentity: { namespace: 'b', serviceAccount: 'anything' } }, weB())).not.toThrow();
  });
});

// Not tabled upstream: two guards of controller.go the lifecycle above does not reach alone.
describe('adsConnections.Disconnect and Store.UpdateHealth guards (connections.go, internal/state/store.go)', () => {
  it('another open connection of the same proxy keeps the entry connected', async () => {
    const { store, c1 } = setup();
    const p = fakeProxySuitableForHealthChecks(weB());
    const first: ModelConnection = { id: 'stream-1', proxy: p, connectedAt: T0 };
    const second: ModelConnection = { id: 'stream-2', proxy: p, connectedAt: T0 };
    await c1.onConnect(first);
    await c1.onConnect(second);
    await c1.onDisconnect(first, at(100));
    expectConnectedTo(store, 'pilot-1');
    await c1.onDisconnect(second, at(200));
    expectConnectedTo(store, '');
  });

  it('a health report reaching an istiod that no longer controls the entry is dropped', async () => {
    const { store, c1, c2 } = setup();
    const p = fakeProxySuitableForHealthChecks(weB());
    await c1.onConnect(makeConn(p, at(0)));
    await c2.onConnect(makeConn(p, at(10)));
    await c1.reportHealth(p, { healthy: true }, at(20));
    expect(healthOf(store)).toBeUndefined();
    await c2.reportHealth(p, { healthy: true }, at(30));
    expect(healthOf(store)?.status).toBe('True');
  });

  it('a report older than the stored probe is dropped', async () => {
    const { store, c1 } = setup();
    const p = fakeProxySuitableForHealthChecks(weB());
    await c1.onConnect(makeConn(p, T0));
    await c1.reportHealth(p, { healthy: true }, at(20));
    await c1.reportHealth(p, { healthy: false, message: 'late' }, at(10));
    expect(healthOf(store)?.status).toBe('True');
  });
});

describe('shouldCleanupEntry (controller.go), the rows of its branches', () => {
  const { c1 } = setup();
  const entry = (annotations: Record<string, string>, healthy?: string): StoredWorkloadEntry => ({
    ...weB(),
    metadata: { ...weB().metadata, annotations: { ...weB().metadata.annotations, ...annotations } },
    ...(healthy ? { status: { conditions: [{ type: 'Healthy', status: healthy }] } } : {}),
  });
  it.each([
    ['neither auto-registered nor connected once', entry({}, 'True'), at(60_000), false],
    ['health-checked without a Healthy condition', entry({ 'istio.io/workloadController': 'pilot-1', 'istio.io/disconnectedAt': formatIstiodTime(T0) }), at(60_000), false],
    ['health-checked, still connected', entry({ 'istio.io/workloadController': 'pilot-1', 'istio.io/connectedAt': formatIstiodTime(T0) }, 'True'), at(60_000), false],
    ['health-checked, disconnected within the grace period', entry({ 'istio.io/workloadController': 'pilot-1', 'istio.io/disconnectedAt': formatIstiodTime(T0) }, 'True'), at(9_999), false],
    ['health-checked, disconnected for the grace period', entry({ 'istio.io/workloadController': 'pilot-1', 'istio.io/disconnectedAt': formatIstiodTime(T0) }, 'False'), at(10_000), true],
    ['auto-registered, disconnected for the grace period', entry({ 'istio.io/autoRegistrationGroup': 'g', 'istio.io/disconnectedAt': formatIstiodTime(T0) }), at(10_000), true],
  ])('%s: %s', (_name, wle, now, want) => {
    expect(c1.shouldCleanupEntry(wle, now)).toBe(want);
  });

  it('connected for longer than 1.5 max connection ages: cleaned up (istiod and proxy gone together)', () => {
    const store = new MemoryWorkloadEntryStore();
    const c = new WorkloadEntryControllerModel({ instanceId: 'pilot-1', store, maxConnectionAgeMs: 60_000 });
    const wle = entry({ 'istio.io/workloadController': 'pilot-1', 'istio.io/connectedAt': formatIstiodTime(T0) }, 'True');
    expect(c.shouldCleanupEntry(wle, at(90_000))).toBe(false);
    expect(c.shouldCleanupEntry(wle, at(90_001))).toBe(true);
  });
});

describe('the controller and the endpoints together', () => {
  it('an entry with health checks is an endpoint only while its proxy reports healthy, and not after the grace period', async () => {
    const { store, c1 } = setup({ ...weB(), spec: { ...weB().spec, labels: { app: 'b' } } });
    const service = withDefaultedTargetPorts({ metadata: { name: 'b', namespace: 'b' }, spec: { selector: { app: 'b' }, ports: [{ name: 'http', port: 80 }] } });
    const served = () => endpointsForService(service, store.list(), { clusterId: 'Kubernetes' }).map((e) => `${e.address}:${e.endpointPort}`);
    const p = fakeProxySuitableForHealthChecks(weB());
    const conn = makeConn(p, T0);
    expect(served()).toEqual([]);
    await c1.onConnect(conn);
    expect(served()).toEqual([]);
    await c1.reportHealth(p, { healthy: true }, at(5_000));
    expect(served()).toEqual(['10.0.0.1:80']);
    await c1.onDisconnect(conn, at(6_000));
    expect(served()).toEqual(['10.0.0.1:80']);
    await c1.runDueCleanups(at(16_000));
    expect(served()).toEqual([]);
  });
});
