/**
 * What istio-agent (pilot-agent) makes of a task's proxy configuration, ported from istio/istio at
 * ISTIO_COMMIT (./upstream.ts), so a test can start "the task's istio-proxy" from the files our
 * agent writes and the environment the example's task definition gives, and report to the istiod
 * model what the real one would:
 *
 * - the node metadata istiod reads (`WORKLOAD_ENTRY`, the namespace): pkg/bootstrap/config.go
 *   `GetNodeMetaData`, `extractMetadata`, `extractAttributesMetadata`;
 * - the ProxyConfig, of which the readiness probe: pilot/cmd/pilot-agent/config/config.go
 *   `ConstructProxyConfig`, `getMeshConfig` (mesh config file, then PROXY_CONFIG over it; the pod
 *   annotation has no ECS counterpart and is not modelled);
 * - the application health checker: pkg/istio-agent/health/health_check.go `fillInDefaults`,
 *   `NewWorkloadHealthChecker`, `PerformApplicationHealthCheck` (its `doCheck`), and
 *   health_probers.go `TCPProber.Probe`, `HTTPProber.Probe`.
 *
 * Differences, deliberate: the checker's ticker is the caller's (one {@link WorkloadHealthCheckerModel.check}
 * per period), so tests need no sleeps; Envoy's own readiness (`EnvoyProber`) is not aggregated, as
 * no Envoy runs here; exec and gRPC probes are not ported (a probe of those kinds throws).
 */
import { connect } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { HealthEvent } from './workload-entry-controller.js';

/** The part of model.BootstrapNodeMetadata istiod's WorkloadEntry controller reads. */
export interface ModelNodeMetadata {
  /** `WORKLOAD_ENTRY`, from ISTIO_META_WORKLOAD_ENTRY. */
  workloadEntry?: string;
  /** From POD_NAMESPACE (extractAttributesMetadata). */
  namespace?: string;
  /** `NETWORK`, from ISTIO_META_NETWORK. */
  network?: string;
  /** From ISTIO_METAJSON_LABELS. */
  labels?: Record<string, string>;
}

/** pkg/bootstrap/config.go `GetNodeMetaData`: ISTIO_META_* pass through under their suffix; then the attributes. */
export function nodeMetadataFromEnv(env: Record<string, string | undefined>): ModelNodeMetadata {
  const untyped: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // extractMetadata: the prefix, then a name=value pair (isEnvVar); an empty value still counts.
    if (value !== undefined && name.startsWith('ISTIO_META_') && name.length > 'ISTIO_META_'.length) untyped[name.slice('ISTIO_META_'.length)] = value;
  }
  const labels = jsonStringToMap(env.ISTIO_METAJSON_LABELS);
  return {
    ...(untyped.WORKLOAD_ENTRY ? { workloadEntry: untyped.WORKLOAD_ENTRY } : {}),
    ...(untyped.NETWORK ? { network: untyped.NETWORK } : {}),
    ...(env.POD_NAMESPACE ? { namespace: env.POD_NAMESPACE } : {}),
    ...(labels ? { labels } : {}),
  };
}

/** pkg/bootstrap/config.go `jsonStringToMap`: a bad value is logged upstream and yields nothing. */
function jsonStringToMap(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) && Object.keys(parsed).length > 0 ? (parsed as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

/** istio.networking.v1alpha3.ReadinessProbe as JSON (the WorkloadGroup's `probe` and ProxyConfig's `readinessProbe`). */
export interface ModelReadinessProbe {
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  httpGet?: { path?: string; port: number; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { host?: string; port: number };
  exec?: { command: string[] };
  grpc?: { port: number; service?: string };
}

/** The part of ProxyConfig this model reads. */
export interface ModelProxyConfig {
  discoveryAddress?: string;
  readinessProbe?: ModelReadinessProbe;
}

/**
 * pilot/cmd/pilot-agent/config/config.go `getMeshConfig`: the mesh config file's `defaultConfig`,
 * then PROXY_CONFIG applied over it. "Merging is done by replacement": a field PROXY_CONFIG sets
 * replaces the file's, fields it leaves out stay. Either may be YAML or JSON; a file or variable that
 * is not an object fails pilot-agent's start, as upstream's unmarshal does.
 */
export function proxyConfigFrom(meshConfigFile: string | undefined, proxyConfigEnv: string | undefined): ModelProxyConfig {
  let config: Record<string, unknown> = {};
  if (meshConfigFile) {
    const mesh = objectOrThrow(parseYaml(meshConfigFile), 'failed to unmarshal mesh config from file');
    config = { ...config, ...(mesh.defaultConfig === undefined ? {} : objectOrThrow(mesh.defaultConfig, 'failed to unmarshal mesh config from file')) };
  }
  if (proxyConfigEnv) config = { ...config, ...objectOrThrow(parseYaml(proxyConfigEnv), 'failed to unmarshal mesh config from environment') };
  return config as ModelProxyConfig;
}

function objectOrThrow(value: unknown, message: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${message}: not an object`);
  return value as Record<string, unknown>;
}

/** health_check.go `fillInDefaults`: thresholds at least 1, timeout 1 s, period 10 s, httpGet path `/` and scheme http. */
export function fillInDefaults(probe: ModelReadinessProbe): Required<Pick<ModelReadinessProbe, 'initialDelaySeconds' | 'timeoutSeconds' | 'periodSeconds' | 'successThreshold' | 'failureThreshold'>> & ModelReadinessProbe {
  const orDefault = (value: number | undefined, fallback: number) => (value ? value : fallback);
  return {
    ...probe,
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    failureThreshold: orDefault(probe.failureThreshold, 1),
    successThreshold: orDefault(probe.successThreshold, 1),
    timeoutSeconds: orDefault(probe.timeoutSeconds, 1),
    periodSeconds: orDefault(probe.periodSeconds, 10),
    ...(probe.httpGet ? { httpGet: { ...probe.httpGet, path: probe.httpGet.path || '/', scheme: (probe.httpGet.scheme || 'http').toLowerCase() } } : {}),
  };
}

type Prober = (timeoutMs: number) => Promise<{ healthy: boolean; error?: string }>;

/**
 * health_check.go: the checker `NewWorkloadHealthChecker` builds (undefined without a probe, as
 * upstream's nil checker) and the state machine of `PerformApplicationHealthCheck`: an event is sent
 * only on a change, after SuccessThreshold passes or FailureThreshold failures in a row, the first
 * one as soon as a threshold is reached.
 */
export class WorkloadHealthCheckerModel {
  readonly periodMs: number;
  readonly initialDelayMs: number;
  private readonly timeoutMs: number;
  private readonly successThreshold: number;
  private readonly failureThreshold: number;
  private readonly prober: Prober;
  private numSuccess = 0;
  private numFail = 0;
  private lastState: 'undefined' | 'healthy' | 'unhealthy' = 'undefined';

  static create(probe: ModelReadinessProbe | undefined, proxyAddresses: string[]): WorkloadHealthCheckerModel | undefined {
    return probe ? new WorkloadHealthCheckerModel(fillInDefaults(probe), resolveDefaultHost(proxyAddresses)) : undefined;
  }

  private constructor(probe: ReturnType<typeof fillInDefaults>, defaultHost: string) {
    this.periodMs = probe.periodSeconds * 1000;
    this.initialDelayMs = probe.initialDelaySeconds * 1000;
    this.timeoutMs = probe.timeoutSeconds * 1000;
    this.successThreshold = probe.successThreshold;
    this.failureThreshold = probe.failureThreshold;
    if (probe.tcpSocket) this.prober = tcpProber(probe.tcpSocket.host || defaultHost, probe.tcpSocket.port);
    else if (probe.httpGet) this.prober = httpProber(probe.httpGet, defaultHost);
    else throw new Error(`probe kind not modelled: ${Object.keys(probe).join(', ')}`);
  }

  /** One `doCheck`: probes once and returns the event upstream's callback would receive, if any. */
  async check(): Promise<HealthEvent | undefined> {
    const result = await this.prober(this.timeoutMs);
    if (result.healthy) {
      this.numSuccess++;
      this.numFail = 0;
      if (this.numSuccess === this.successThreshold && this.lastState !== 'healthy') {
        this.numSuccess = 0;
        this.lastState = 'healthy';
        return { healthy: true };
      }
      return undefined;
    }
    this.numFail++;
    this.numSuccess = 0;
    if (this.numFail === this.failureThreshold && this.lastState !== 'unhealthy') {
      this.numFail = 0;
      this.lastState = 'unhealthy';
      return { healthy: false, message: result.error ?? 'unhealthy' };
    }
    return undefined;
  }
}

/** health_check.go `resolveDefaultHost`: the proxy's first address, or localhost (LegacyLocalhostProbeDestination off). */
function resolveDefaultHost(addresses: string[]): string {
  return addresses[0] ?? 'localhost';
}

/** health_probers.go `TCPProber.Probe`: healthy iff a connection opens within the timeout. */
function tcpProber(host: string, port: number): Prober {
  return (timeoutMs) =>
    new Promise((resolve) => {
      const socket = connect({ host, port });
      const done = (result: { healthy: boolean; error?: string }) => {
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(timeoutMs, () => done({ healthy: false, error: `dial tcp ${host}:${port}: i/o timeout` }));
      socket.once('connect', () => done({ healthy: true }));
      socket.once('error', (error) => done({ healthy: false, error: `dial tcp ${host}:${port}: ${error.message}` }));
    });
}

/** health_probers.go `HTTPProber.Probe`: healthy iff the GET answers a status in [200, 400). */
function httpProber(config: NonNullable<ModelReadinessProbe['httpGet']>, defaultHost: string): Prober {
  const host = config.host || defaultHost;
  const url = `${config.scheme ?? 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.port}${config.path ?? '/'}`;
  const headers = Object.fromEntries((config.httpHeaders ?? []).map((h) => [h.name, h.value]));
  return async (timeoutMs) => {
    try {
      const answer = await fetch(url, { headers: { 'user-agent': 'istio-probe/1.0', ...headers }, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await answer.body?.cancel();
      return answer.status >= 200 && answer.status < 400 ? { healthy: true } : { healthy: false, error: `status code was not from [200,400), bad code ${answer.status}` };
    } catch (error) {
      return { healthy: false, error: error instanceof Error ? error.message : String(error) };
    }
  };
}
