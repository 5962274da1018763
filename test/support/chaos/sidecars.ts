/**
 * istiod in the chaos world: the istio-proxy of every running task of a probed group, connected to
 * the istiod model (test/support/istiod-model/) that writes over HTTP on the Kubernetes API double
 * as istiod does, under istiod's RBAC and field manager.
 *
 * A sidecar names its entry in its `WORKLOAD_ENTRY` metadata and presents its group's identity. It
 * stays connected until its task stops or its network blips; a connection istiod refuses (the
 * entry is not there yet, or does not name the sidecar's service account) is retried, as Envoy
 * retries its ADS stream, at every later step. Its istio-agent reports each probe result, and
 * resends the last one on every new connection (istio: pkg/istio-agent/xds_proxy.go,
 * PersistRequest). Time is virtual; every choice comes from the run's seeded random.
 */
import { HttpWorkloadEntryStore, ISTIOD_RBAC } from '../istiod-model/http-store.js';
import { ISTIOD_FEATURE_DEFAULTS } from '../istiod-model/upstream.js';
import { WorkloadEntryControllerModel, type ModelConnection, type ModelProxy } from '../istiod-model/workload-entry-controller.js';
import type { KubernetesApiDouble } from '../kubernetes-api-double.js';
import type { Random } from './random.js';
import { entryNameOf, type RunningTask } from './truth.js';

const ISTIOD_TOKEN = 'chaos-istiod-token';
/** The grace period after which istiod drops a disconnected entry's Healthy condition (PILOT_WORKLOAD_ENTRY_GRACE_PERIOD). */
const GRACE_MS = ISTIOD_FEATURE_DEFAULTS.workloadEntryCleanupGracePeriodMs;
/** istio: pilot/pkg/autoregistration/controller.go, maxRetries of its queues. */
const ISTIOD_MAX_RETRIES = 5;

interface Sidecar {
  task: RunningTask;
  /** Its ADS connection, once istiod accepted it; undefined while down or refused. */
  connection: ModelConnection | undefined;
  /** The task runs and its network is up: it keeps trying to connect. */
  wantsConnection: boolean;
  /** The last probe result its istio-agent has; undefined before the first probe. */
  probePassing: boolean | undefined;
}

/** What istiod and the sidecars did over the run. */
export interface IstiodActivity {
  connects: number;
  /** Connections istiod refused (entry missing, identity not the entry's); each is retried. */
  refused: number;
  disconnects: number;
  /** Network blips: a disconnect then a reconnect; `pastGrace` lasted past the grace period. */
  blips: { total: number; pastGrace: number };
  probeReports: number;
  /** Probes that flapped healthy → unhealthy, and those of them that came back. */
  flaps: { failed: number; recovered: number };
  restarts: number;
  /** Steps istiod failed (upstream's queues retry them, then give up). */
  failures: number;
}

/** The sidecars of the world's probed tasks and the istiod they talk to. */
export class ChaosSidecars {
  readonly activity: IstiodActivity = { connects: 0, refused: 0, disconnects: 0, blips: { total: 0, pastGrace: 0 }, probeReports: 0, flaps: { failed: 0, recovered: 0 }, restarts: 0, failures: 0 };
  private readonly sidecars = new Map<string, Sidecar>();
  private readonly store: HttpWorkloadEntryStore;
  private istiod: WorkloadEntryControllerModel;
  private clockMs = Date.parse('2026-01-01T00:00:00Z');

  constructor(
    k8s: KubernetesApiDouble,
    private readonly random: Random,
  ) {
    k8s.addIdentity(ISTIOD_TOKEN, ISTIOD_RBAC);
    this.store = new HttpWorkloadEntryStore(k8s.url, ISTIOD_TOKEN);
    this.istiod = this.newIstiod();
  }

  /** Sidecars for the running tasks of probed groups not seen yet; each connects and runs its first probe (most pass). */
  async start(running: Iterable<RunningTask>): Promise<void> {
    for (const task of running) {
      if (!task.service.probed || this.sidecars.has(task.taskArn)) continue;
      const sidecar: Sidecar = { task, connection: undefined, wantsConnection: true, probePassing: undefined };
      this.sidecars.set(task.taskArn, sidecar);
      await this.connect(sidecar);
      await this.probe(sidecar, this.random.chance(0.9));
    }
  }

  /** The sidecars of stopped tasks go: their connections close. */
  async stop(taskArns: Iterable<string>): Promise<void> {
    for (const arn of taskArns) {
      const sidecar = this.sidecars.get(arn);
      if (!sidecar) continue;
      sidecar.wantsConnection = false;
      await this.disconnect(sidecar);
      this.sidecars.delete(arn);
    }
  }

  /** A share of the connected sidecars' probes fail; half of those pass again. */
  async flap(share: number): Promise<void> {
    for (const sidecar of this.connected()) {
      if (sidecar.probePassing !== true || !this.random.chance(share)) continue;
      this.activity.flaps.failed += 1;
      await this.probe(sidecar, false);
      if (!this.random.chance(0.5)) continue;
      this.activity.flaps.recovered += 1;
      await this.probe(sidecar, true);
    }
  }

  /**
   * A share of the connected sidecars lose their network for 1–20 s, then reconnect. The ones
   * down longer than istiod's grace period lose their Healthy condition until the agent resends it.
   */
  async blip(share: number): Promise<void> {
    const start = this.tick();
    const down: { sidecar: Sidecar; forMs: number }[] = [];
    for (const sidecar of this.connected()) {
      if (!this.random.chance(share)) continue;
      const forMs = this.random.int(1_000, 20_000);
      this.clockMs = start + this.random.int(0, 1_000);
      await this.disconnect(sidecar);
      down.push({ sidecar, forMs });
    }
    // Each reconnects when its blip ends; istiod's delayed cleanups run as they fall due.
    for (const { sidecar, forMs } of down.sort((a, b) => a.forMs - b.forMs)) {
      this.clockMs = Math.max(this.clockMs, start + 1_000 + forMs);
      await this.istiodStep(() => this.istiod.runDueCleanups(new Date(this.clockMs)));
      this.activity.blips.total += 1;
      if (forMs > GRACE_MS) this.activity.blips.pastGrace += 1;
      await this.connect(sidecar);
    }
  }

  /** istiod restarts: the old instance dies without writing a disconnect, every sidecar reconnects to the new one. */
  async restartIstiod(): Promise<void> {
    this.activity.restarts += 1;
    this.istiod = this.newIstiod();
    for (const sidecar of this.sidecars.values()) sidecar.connection = undefined;
    this.tick();
    await this.reconnectPending();
  }

  /** Every sidecar that wants a connection and has none tries again (Envoy's ADS retry). */
  async reconnectPending(): Promise<void> {
    for (const sidecar of this.sidecars.values()) if (sidecar.wantsConnection && !sidecar.connection) await this.connect(sidecar);
  }

  /** Whether the task's sidecar, if its group has a probe, is connected and its last probe passed. */
  healthy(task: RunningTask): boolean {
    if (!task.service.probed) return true;
    const sidecar = this.sidecars.get(task.taskArn);
    return sidecar?.connection !== undefined && sidecar.probePassing === true;
  }

  private connected(): Sidecar[] {
    return [...this.sidecars.values()].filter((s) => s.connection !== undefined);
  }

  private newIstiod(): WorkloadEntryControllerModel {
    return new WorkloadEntryControllerModel({ instanceId: `istiod-chaos-${this.activity.restarts}`, store: this.store });
  }

  /** Advances the virtual clock a little (each step of istiod happens at its own instant). */
  private tick(ms = 100): number {
    this.clockMs += ms;
    return this.clockMs;
  }

  private async connect(sidecar: Sidecar): Promise<void> {
    const { task } = sidecar;
    const entryName = entryNameOf(task);
    const proxy: ModelProxy = {
      id: `${entryName}.${task.service.namespace}`,
      ipAddresses: [task.address],
      namespace: task.service.namespace,
      workloadEntry: entryName,
      verifiedIdentity: { namespace: task.service.namespace, serviceAccount: task.service.template.serviceAccount },
    };
    const connectedAt = new Date(this.tick());
    const connection: ModelConnection = { id: `${proxy.id}-${connectedAt.getTime()}`, proxy, connectedAt };
    try {
      await this.istiod.onConnect(connection);
    } catch {
      this.activity.refused += 1;
      return;
    }
    this.activity.connects += 1;
    sidecar.connection = connection;
    if (sidecar.probePassing !== undefined) await this.report(sidecar);
  }

  private async disconnect(sidecar: Sidecar): Promise<void> {
    const { connection } = sidecar;
    if (!connection) return;
    sidecar.connection = undefined;
    this.activity.disconnects += 1;
    await this.istiodStep(() => this.istiod.onDisconnect(connection, new Date(this.tick())));
  }

  private async probe(sidecar: Sidecar, passing: boolean): Promise<void> {
    sidecar.probePassing = passing;
    if (sidecar.connection) await this.report(sidecar);
  }

  private async report(sidecar: Sidecar): Promise<void> {
    const { connection, probePassing } = sidecar;
    if (!connection || probePassing === undefined) return;
    this.activity.probeReports += 1;
    await this.istiodStep(() => this.istiod.reportHealth(connection.proxy, probePassing ? { healthy: true } : { healthy: false, message: 'HTTP GET /ready: 503' }, new Date(this.tick())));
  }

  /**
   * One step of istiod's queues, retried as they retry it (istio: controller.go, maxRetries, each
   * attempt re-reading the entry); a step that fails every attempt is dropped, as upstream drops it.
   */
  private async istiodStep(step: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch {
        if (attempt === ISTIOD_MAX_RETRIES) {
          this.activity.failures += 1;
          return;
        }
      }
    }
  }
}
