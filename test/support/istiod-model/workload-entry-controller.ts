/**
 * istiod's WorkloadEntry controller for a proxy that connects with a `WORKLOAD_ENTRY` metadata
 * (the health-checked, not auto-registered, path), ported to TypeScript from istio/istio at
 * ISTIO_COMMIT (./upstream.ts): pilot/pkg/autoregistration/controller.go and its
 * internal/health and internal/state packages. Each method names the Go function it ports.
 *
 * Differences from upstream, all deliberate:
 * - Upstream's queues (unregister, health, delayed cleanup) run asynchronously with retries; here
 *   each step runs when called, and time is an argument, so a test decides when a grace period
 *   has passed ({@link WorkloadEntryControllerModel.runDueCleanups}) without sleeping.
 * - Auto-registration (`AutoRegisterGroup`, creating entries from a WorkloadGroup) is not ported:
 *   this project writes the entries itself. An auto-registered entry is still recognised by its
 *   `istio.io/autoRegistrationGroup` annotation, so cleanup treats it as upstream does.
 * - Upstream's conflict retry is the caller's: a write the store refuses throws.
 */
import { CONDITION_HEALTHY, ISTIOD_ANNOTATIONS, ISTIOD_FEATURE_DEFAULTS } from './upstream.js';
import type { ModelCondition, ModelWorkloadEntry } from './endpoints.js';

/** A WorkloadEntry as read from the store, with the resourceVersion writes are guarded by. */
export type StoredWorkloadEntry = ModelWorkloadEntry & { metadata: ModelWorkloadEntry['metadata'] & { resourceVersion?: string } };

type Awaitable<T> = T | Promise<T>;

/**
 * The writes istiod makes (upstream: model.ConfigStoreController Get, Update, UpdateStatus, Delete,
 * List). A store answers at once (in memory, in-process on the double) or over HTTP.
 */
export interface WorkloadEntryStore {
  get(namespace: string, name: string): Awaitable<StoredWorkloadEntry | undefined>;
  list(): Awaitable<StoredWorkloadEntry[]>;
  /** Replaces metadata and spec, guarded by the entry's resourceVersion; throws if refused. */
  update(entry: StoredWorkloadEntry): Awaitable<void>;
  /** Replaces the status subresource, guarded by the entry's resourceVersion; throws if refused. */
  updateStatus(entry: StoredWorkloadEntry): Awaitable<void>;
  /** Deletes that version of the entry; throws if refused (not when absent). */
  delete(namespace: string, name: string, resourceVersion: string | undefined): Awaitable<void>;
}

/** A {@link WorkloadEntryStore} that answers at once, for tests that read it between steps. */
export type ImmediateWorkloadEntryStore = { [K in keyof WorkloadEntryStore]: (...args: Parameters<WorkloadEntryStore[K]>) => Awaited<ReturnType<WorkloadEntryStore[K]>> };

/** model.Proxy, reduced to what the controller reads. */
export interface ModelProxy {
  id: string;
  ipAddresses: string[];
  /** Metadata.Namespace. */
  namespace: string;
  /** Metadata.Network. */
  network?: string;
  /** Metadata.WorkloadEntry: the `WORKLOAD_ENTRY` proxy metadata (ISTIO_META_WORKLOAD_ENTRY). */
  workloadEntry?: string;
  /** Metadata.AutoRegisterGroup (`AUTO_REGISTER_GROUP`); auto-registration is not modelled. */
  autoRegisterGroup?: string;
  /** The identity of the proxy's client certificate, when verified. */
  verifiedIdentity?: { namespace: string; serviceAccount: string };
}

/** An ADS connection (upstream: the `connection` interface of connections.go). */
export interface ModelConnection {
  id: string;
  proxy: ModelProxy;
  connectedAt: Date;
}

/** What istio-agent reports after a probe (upstream: internal/health HealthEvent). */
export interface HealthEvent {
  healthy: boolean;
  message?: string;
}

export interface ControllerModelOptions {
  /** The istiod instance ID written into `istio.io/workloadController` (upstream: instanceID, the pod name). */
  instanceId: string;
  store: WorkloadEntryStore;
  /** features.WorkloadEntryCleanupGracePeriod. */
  cleanupGracePeriodMs?: number;
  /** keepalive MaxServerConnectionAge; upstream waits 1.5 times it. Unset: no limit. */
  maxConnectionAgeMs?: number;
  /** features.ValidateWorkloadEntryIdentity. */
  validateWorkloadEntryIdentity?: boolean;
}

/**
 * upstream: `timeFormat = time.RFC3339Nano`. JavaScript dates have milliseconds, so the model writes
 * them with trailing zeros trimmed, as Go's RFC3339Nano does.
 */
export function formatIstiodTime(at: Date): string {
  return at.toISOString().replace(/\.?0+Z$/, 'Z');
}

/** upstream: time.Parse(timeFormat, s); undefined where Go returns an error (and the zero time). */
function parseIstiodTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** istio: pilot/pkg/autoregistration/internal/health/util.go, IsEligibleForHealthStatusUpdates (the annotation present, any value). */
export function isEligibleForHealthStatusUpdates(entry: ModelWorkloadEntry | undefined): boolean {
  return entry !== undefined && Object.hasOwn(entry.metadata.annotations ?? {}, ISTIOD_ANNOTATIONS.healthChecksEnabled);
}

/** istio: pilot/pkg/autoregistration/internal/health/util.go, HasHealthCondition. */
export function hasHealthCondition(entry: ModelWorkloadEntry | undefined): boolean {
  return entry?.status?.conditions?.some((c) => c.type === CONDITION_HEALTHY) ?? false;
}

/** istio: pilot/pkg/autoregistration/controller.go, isAutoRegisteredWorkloadEntry. */
export function isAutoRegisteredWorkloadEntry(entry: ModelWorkloadEntry | undefined): boolean {
  return Boolean(entry?.metadata.annotations?.[ISTIOD_ANNOTATIONS.autoRegistrationGroup]);
}

/** istio: pilot/pkg/autoregistration/controller.go, isHealthCheckedWorkloadEntry. */
export function isHealthCheckedWorkloadEntry(entry: ModelWorkloadEntry | undefined): boolean {
  return Boolean(entry?.metadata.annotations?.[ISTIOD_ANNOTATIONS.workloadController]) && !isAutoRegisteredWorkloadEntry(entry);
}

/** istio: pilot/pkg/autoregistration/controller.go, ensureProxyCanControlEntry. Throws the upstream message. */
export function ensureProxyCanControlEntry(proxy: ModelProxy, entry: ModelWorkloadEntry, validate = ISTIOD_FEATURE_DEFAULTS.validateWorkloadEntryIdentity as boolean): void {
  if (!validate) return;
  const identity = proxy.verifiedIdentity;
  if (!identity) throw new Error('registration of WorkloadEntry requires a verified identity');
  if (identity.namespace !== entry.metadata.namespace)
    throw new Error(`registration of WorkloadEntry namespace mismatch: "${identity.namespace}" vs "${entry.metadata.namespace}"`);
  const serviceAccount = entry.spec.serviceAccount ?? '';
  if (serviceAccount !== '' && identity.serviceAccount !== serviceAccount)
    throw new Error(`registration of WorkloadEntry service account mismatch: "${identity.serviceAccount}" vs "${serviceAccount}"`);
}

/**
 * The ADS connection of the sidecar an entry names in its `WORKLOAD_ENTRY` metadata, its client
 * certificate verified as the entry's namespace and service account: a proxy that may control it.
 */
export function sidecarConnectionOf(entry: ModelWorkloadEntry, connectedAt: Date): ModelConnection {
  const { name, namespace } = entry.metadata;
  const proxy: ModelProxy = {
    id: `${name}.${namespace}`,
    ipAddresses: entry.spec.address ? [entry.spec.address] : [],
    namespace,
    workloadEntry: name,
    verifiedIdentity: { namespace, serviceAccount: entry.spec.serviceAccount ?? '' },
  };
  return { id: `${proxy.id}-${connectedAt.getTime()}`, proxy, connectedAt };
}

/** istio: pilot/pkg/autoregistration/connections.go, makeProxyKey. */
function proxyKey(proxy: ModelProxy): string {
  return JSON.stringify([proxy.network ?? '', proxy.ipAddresses[0] ?? '', proxy.autoRegisterGroup ?? '', proxy.namespace]);
}

function withAnnotations(entry: StoredWorkloadEntry, change: (annotations: Record<string, string>) => void): StoredWorkloadEntry {
  const copy = structuredClone(entry);
  const annotations = { ...copy.metadata.annotations };
  change(annotations);
  copy.metadata.annotations = annotations;
  return copy;
}

/** The controller of one istiod instance. */
export class WorkloadEntryControllerModel {
  readonly instanceId: string;
  private readonly store: WorkloadEntryStore;
  private readonly gracePeriodMs: number;
  private readonly maxConnectionAgeMs: number;
  private readonly validateIdentity: boolean;
  /** upstream: adsConnections.byProxy. */
  private readonly connections = new Map<string, Map<string, ModelConnection>>();
  /** upstream: proxy.SetWorkloadEntry, per proxy ID. */
  private readonly entryOfProxy = new Map<string, string>();
  /** upstream: cleanupQueue.PushDelayed, as (due time, entry) pairs. */
  private pendingCleanups: { dueMs: number; namespace: string; name: string }[] = [];

  constructor(options: ControllerModelOptions) {
    this.instanceId = options.instanceId;
    this.store = options.store;
    this.gracePeriodMs = options.cleanupGracePeriodMs ?? ISTIOD_FEATURE_DEFAULTS.workloadEntryCleanupGracePeriodMs;
    // NewController: a max connection age is waited out one and a half times.
    this.maxConnectionAgeMs = options.maxConnectionAgeMs && options.maxConnectionAgeMs > 0 ? options.maxConnectionAgeMs * 1.5 : Number.POSITIVE_INFINITY;
    this.validateIdentity = options.validateWorkloadEntryIdentity ?? ISTIOD_FEATURE_DEFAULTS.validateWorkloadEntryIdentity;
  }

  /**
   * istio: controller.go, Controller.OnConnect (health-check branch) and becomeControllerOf.
   * Returns the entry's name when the proxy now controls it, undefined when the connection needs
   * no special handling (no `WORKLOAD_ENTRY`, or an entry without the health-checks annotation).
   * Throws, as upstream returns an error (which refuses the ADS connection), when the entry is
   * missing or the proxy's identity may not control it.
   */
  async onConnect(conn: ModelConnection): Promise<string | undefined> {
    const { proxy } = conn;
    if (proxy.autoRegisterGroup) throw new Error('the istiod model does not port auto-registration (AUTO_REGISTER_GROUP)');
    if (!proxy.workloadEntry) return undefined;
    const entry = await this.store.get(proxy.namespace, proxy.workloadEntry);
    if (!entry)
      throw new Error(
        `proxy metadata indicates that it must correspond to an existing WorkloadEntry, however WorkloadEntry ${proxy.namespace}/${proxy.workloadEntry} is not found`,
      );
    if (!isEligibleForHealthStatusUpdates(entry)) return undefined;
    ensureProxyCanControlEntry(proxy, entry, this.validateIdentity);
    const entryName = entry.metadata.name;
    this.entryOfProxy.set(proxy.id, entryName);
    const key = proxyKey(proxy);
    const byId = this.connections.get(key) ?? new Map<string, ModelConnection>();
    byId.set(conn.id, conn);
    this.connections.set(key, byId);
    await this.changeWorkloadEntryStateToConnected(entryName, proxy, conn.connectedAt);
    return entryName;
  }

  /** istio: controller.go, changeWorkloadEntryStateToConnected (with setConnectMeta). Whether it wrote. */
  private async changeWorkloadEntryStateToConnected(entryName: string, proxy: ModelProxy, connectedAt: Date): Promise<boolean> {
    const entry = await this.store.get(proxy.namespace, entryName);
    if (!entry) throw new Error(`failed updating WorkloadEntry ${proxy.namespace}/${entryName}: WorkloadEntry not found`);
    const annotations = entry.metadata.annotations ?? {};
    // A connect processed after its own disconnect was written: nothing to do.
    // (An unparsable time is Go's zero time, before any connect, so it never stops the write.)
    const disconnectedAt = parseIstiodTime(annotations[ISTIOD_ANNOTATIONS.disconnectedAt]);
    if (disconnectedAt && connectedAt < disconnectedAt) return false;
    // The proxy has since connected to another istiod.
    const lastConnectedAt = parseIstiodTime(annotations[ISTIOD_ANNOTATIONS.connectedAt]);
    if (lastConnectedAt && connectedAt < lastConnectedAt) return false;
    // Already ours at this time: skip the write, which would race the health condition's.
    if (annotations[ISTIOD_ANNOTATIONS.workloadController] === this.instanceId && lastConnectedAt && !(connectedAt > lastConnectedAt)) return false;
    await this.store.update(
      withAnnotations(entry, (a) => {
        a[ISTIOD_ANNOTATIONS.workloadController] = this.instanceId;
        a[ISTIOD_ANNOTATIONS.connectedAt] = formatIstiodTime(connectedAt);
        delete a[ISTIOD_ANNOTATIONS.disconnectedAt];
      }),
    );
    return true;
  }

  /**
   * istio: controller.go, Controller.OnDisconnect and unregisterWorkload, run at once (upstream
   * queues them). `disconnectedAt` is upstream's time.Now() at disconnect. When the entry was
   * marked disconnected, its cleanup is due one grace period later ({@link runDueCleanups}).
   */
  async onDisconnect(conn: ModelConnection, disconnectedAt: Date): Promise<void> {
    const entryName = this.entryOfProxy.get(conn.proxy.id);
    if (!entryName) return;
    // adsConnections.Disconnect: another connection of the same proxy keeps the entry connected.
    const key = proxyKey(conn.proxy);
    const byId = this.connections.get(key);
    if (byId) {
      byId.delete(conn.id);
      if (byId.size > 0) return;
      this.connections.delete(key);
    }
    if (!(await this.changeWorkloadEntryStateToDisconnected(entryName, conn.proxy, disconnectedAt, conn.connectedAt))) return;
    this.pendingCleanups.push({ dueMs: disconnectedAt.getTime() + this.gracePeriodMs, namespace: conn.proxy.namespace, name: entryName });
  }

  /** istio: controller.go, changeWorkloadEntryStateToDisconnected. Whether it wrote. */
  private async changeWorkloadEntryStateToDisconnected(entryName: string, proxy: ModelProxy, disconnectedAt: Date, originalConnectedAt: Date): Promise<boolean> {
    const entry = await this.store.get(proxy.namespace, entryName);
    // Upstream returns an error so the queue retries (up to maxRetries) against propagation delay.
    if (!entry) throw new Error(`workloadentry ${proxy.namespace}/${entryName} is not found`);
    const annotations = entry.metadata.annotations ?? {};
    // Only the disconnect of the latest connect written counts.
    const mostRecentConnect = parseIstiodTime(annotations[ISTIOD_ANNOTATIONS.connectedAt]);
    if (mostRecentConnect && mostRecentConnect > originalConnectedAt) return false;
    // Reconnected to, and controlled by, another istiod.
    if (annotations[ISTIOD_ANNOTATIONS.workloadController] !== this.instanceId) return false;
    if (mostRecentConnect && disconnectedAt < mostRecentConnect) return false;
    await this.store.update(
      withAnnotations(entry, (a) => {
        delete a[ISTIOD_ANNOTATIONS.connectedAt];
        a[ISTIOD_ANNOTATIONS.disconnectedAt] = formatIstiodTime(disconnectedAt);
      }),
    );
    return true;
  }

  /**
   * istio: controller.go, Controller.QueueWorkloadEntryHealth; internal/health/controller.go,
   * transformHealthEvent; internal/state/store.go, Store.UpdateHealth. `at` is the probe time
   * (upstream: timestamppb.Now() when istiod receives the report). Writes the `Healthy`
   * condition to the status, only while this instance controls the entry and the stored
   * condition is not newer.
   */
  async reportHealth(proxy: ModelProxy, event: HealthEvent, at: Date): Promise<void> {
    const entryName = this.entryOfProxy.get(proxy.id);
    // upstream logs "unable to derive WorkloadEntry for health update" and drops the report.
    if (!entryName) return;
    const condition: ModelCondition = {
      type: CONDITION_HEALTHY,
      status: event.healthy ? 'True' : 'False',
      lastProbeTime: at.toISOString(),
      lastTransitionTime: at.toISOString(),
      ...(event.healthy || !event.message ? {} : { message: event.message }),
    };
    const entry = await this.store.get(proxy.namespace, entryName);
    if (!entry) throw new Error(`failed to update health status for ${proxy.id}: WorkloadEntry ${proxy.namespace} not found`);
    if (entry.metadata.annotations?.[ISTIOD_ANNOTATIONS.workloadController] !== this.instanceId) return;
    const current = entry.status?.conditions?.find((c) => c.type === CONDITION_HEALTHY);
    const currentProbe = parseIstiodTime(current?.lastProbeTime);
    if (currentProbe && currentProbe > at) return;
    // pilot/pkg/model/status/helper.go, UpdateIstioConfigCondition: replace in place, else append.
    const conditions = [...(entry.status?.conditions ?? [])];
    const index = conditions.findIndex((c) => c.type === CONDITION_HEALTHY);
    if (index >= 0) conditions[index] = condition;
    else conditions.push(condition);
    await this.store.updateStatus({ ...structuredClone(entry), status: { ...entry.status, conditions } });
  }

  /**
   * istio: controller.go, Controller.shouldCleanupEntry at time `now`: an auto-registered entry,
   * or a health-checked one with a Healthy condition, disconnected for a grace period, or
   * connected for longer than the max connection age (istiod and proxy gone together).
   */
  shouldCleanupEntry(entry: ModelWorkloadEntry, now: Date): boolean {
    if (!isAutoRegisteredWorkloadEntry(entry) && !(isHealthCheckedWorkloadEntry(entry) && hasHealthCondition(entry))) return false;
    const annotations = entry.metadata.annotations ?? {};
    const connectedAtText = annotations[ISTIOD_ANNOTATIONS.connectedAt] ?? '';
    if (connectedAtText !== '') {
      const connectedAt = parseIstiodTime(connectedAtText);
      return connectedAt !== undefined && now.getTime() - connectedAt.getTime() > this.maxConnectionAgeMs;
    }
    const disconnectedAtText = annotations[ISTIOD_ANNOTATIONS.disconnectedAt] ?? '';
    if (disconnectedAtText === '') return false;
    const disconnectedAt = parseIstiodTime(disconnectedAtText);
    return !(disconnectedAt !== undefined && now.getTime() - disconnectedAt.getTime() < this.gracePeriodMs);
  }

  /**
   * The delayed cleanups due by `now` (upstream: the closure unregisterWorkload pushes onto
   * cleanupQueue with features.WorkloadEntryCleanupGracePeriod).
   */
  async runDueCleanups(now: Date): Promise<void> {
    const due = this.pendingCleanups.filter((c) => c.dueMs <= now.getTime());
    this.pendingCleanups = this.pendingCleanups.filter((c) => c.dueMs > now.getTime());
    for (const { namespace, name } of due) {
      const entry = await this.store.get(namespace, name);
      if (entry && this.shouldCleanupEntry(entry, now)) await this.cleanupEntry(entry);
    }
  }

  /** istio: controller.go, periodicWorkloadEntryCleanup, one tick (upstream ticks every ten grace periods). */
  async periodicCleanup(now: Date): Promise<void> {
    for (const entry of await this.store.list()) if (this.shouldCleanupEntry(entry, now)) await this.cleanupEntry(entry);
  }

  /**
   * istio: controller.go, cleanupEntry, deleteEntry and deleteHealthCondition (with
   * internal/state/store.go Store.DeleteHealthCondition): an auto-registered entry is deleted; a
   * health-checked one loses its Healthy condition, since istiod can no longer vouch for it.
   */
  private async cleanupEntry(entry: StoredWorkloadEntry): Promise<void> {
    if (isAutoRegisteredWorkloadEntry(entry)) {
      await this.store.delete(entry.metadata.namespace, entry.metadata.name, entry.metadata.resourceVersion);
      return;
    }
    if (isHealthCheckedWorkloadEntry(entry) && hasHealthCondition(entry)) {
      const conditions = (entry.status?.conditions ?? []).filter((c) => c.type !== CONDITION_HEALTHY);
      await this.store.updateStatus({ ...structuredClone(entry), status: { ...entry.status, conditions } });
    }
  }
}
