/**
 * The pilot-agent model (test/support/istiod-model/pilot-agent.ts) against upstream's tests at
 * ISTIO_COMMIT: pkg/istio-agent/health/health_check_test.go
 * `TestWorkloadHealthChecker_PerformApplicationHealthCheck` (its "tcp" and "http" subtests; the
 * ticker is ours, so each period is one `check()`). Rows not from upstream say so.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fillInDefaults, nodeMetadataFromEnv, proxyConfigFrom, WorkloadHealthCheckerModel } from '../support/istiod-model/pilot-agent.js';

const servers: (Server | HttpServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
const listening = <T extends Server | HttpServer>(server: T, port = 0) =>
  new Promise<T>((resolve) => {
    servers.push(server);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const portOf = (server: Server | HttpServer) => (server.address() as AddressInfo).port;

describe('WorkloadHealthCheckerModel (health_check_test.go TestWorkloadHealthChecker_PerformApplicationHealthCheck)', () => {
  it('tcp: events unhealthy, healthy, unhealthy as the listener is absent, listening, closed', async () => {
    // Upstream reserves a port with a delayed listener; here a port is found, freed, then listened on.
    const reserved = await listening(createServer());
    const port = portOf(reserved);
    await new Promise((r) => reserved.close(r));
    const checker = WorkloadHealthCheckerModel.create({ initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 1, successThreshold: 1, failureThreshold: 1, tcpSocket: { host: 'localhost', port } }, ['127.0.0.1'])!;

    expect(await checker.check()).toMatchObject({ healthy: false });
    const app = await listening(createServer((s) => s.end()), port);
    expect(await checker.check()).toEqual({ healthy: true });
    await new Promise((r) => app.close(r));
    expect(await checker.check()).toMatchObject({ healthy: false });
  });

  it('http: server answers 200, 500, 500, 200, then 500: events healthy, unhealthy, healthy, unhealthy (one per change)', async () => {
    const statuses = [true, false, false, true];
    let served = 0;
    const server = await listening(
      createHttpServer((req, res) => {
        expect(req.url).toBe('/test/health/check');
        res.writeHead(served < statuses.length && statuses[served] ? 200 : 500).end('foobar');
        served++;
      }),
    );
    const checker = WorkloadHealthCheckerModel.create({ initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 1, successThreshold: 1, failureThreshold: 1, httpGet: { path: '/test/health/check', port: portOf(server), scheme: 'http', host: '127.0.0.1' } }, ['127.0.0.1'])!;

    const events = [];
    for (let i = 0; i < 5; i++) events.push(await checker.check());
    expect(events.map((e) => e?.healthy)).toEqual([true, false, undefined, true, false]);
  });

  it('(not upstream) thresholds: two failures in a row before unhealthy, and the first pass is reported at once', async () => {
    const app = await listening(createServer((s) => s.end()));
    const port = portOf(app);
    const checker = WorkloadHealthCheckerModel.create({ failureThreshold: 2, tcpSocket: { host: '127.0.0.1', port } }, [])!;
    expect(await checker.check()).toEqual({ healthy: true });
    await new Promise((r) => app.close(r));
    expect(await checker.check()).toBeUndefined();
    expect(await checker.check()).toMatchObject({ healthy: false });
  });

  it('no probe: no checker, as upstream returns a nil one', () => {
    expect(WorkloadHealthCheckerModel.create(undefined, ['10.0.0.1'])).toBeUndefined();
  });
});

describe('fillInDefaults, nodeMetadataFromEnv, proxyConfigFrom (not upstream tests: the defaults and precedence their sources state)', () => {
  it('fills thresholds, timeout, period, and the httpGet path and scheme', () => {
    expect(fillInDefaults({ httpGet: { port: 80, scheme: 'HTTPS' } })).toEqual({ initialDelaySeconds: 0, failureThreshold: 1, successThreshold: 1, timeoutSeconds: 1, periodSeconds: 10, httpGet: { port: 80, path: '/', scheme: 'https' } });
  });

  it('takes WORKLOAD_ENTRY from ISTIO_META_WORKLOAD_ENTRY and the namespace from POD_NAMESPACE', () => {
    expect(nodeMetadataFromEnv({ ISTIO_META_WORKLOAD_ENTRY: 'ratings-1', POD_NAMESPACE: 'bookinfo', ISTIO_META_NETWORK: 'vpc-1', ISTIO_METAJSON_LABELS: '{"app":"ratings"}', WORKLOAD_ENTRY: 'ignored' })).toEqual({ workloadEntry: 'ratings-1', namespace: 'bookinfo', network: 'vpc-1', labels: { app: 'ratings' } });
  });

  it("applies PROXY_CONFIG over the file's defaultConfig, field by field", () => {
    expect(proxyConfigFrom('defaultConfig:\n  discoveryAddress: a:15012\n  readinessProbe: { tcpSocket: { port: 1 } }\n', '{"discoveryAddress":"b:15012"}')).toEqual({ discoveryAddress: 'b:15012', readinessProbe: { tcpSocket: { port: 1 } } });
    expect(() => proxyConfigFrom('[1, 2]', undefined)).toThrow(/failed to unmarshal mesh config from file/);
  });
});
