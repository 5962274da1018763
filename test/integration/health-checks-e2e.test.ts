/**
 * Health that works (issue 19): a task of the example's probed group becomes an endpoint of its
 * Service once its probe passes, leaves when it fails, and comes back, judged by the istiod model
 * (test/support/istiod-model/) over what our functions and our agent really write:
 *
 * - the local stack's functions, in process, write to the Kubernetes API double (not the file mesh);
 * - the agent bundle (`npm run build:agent`), run as the agent e2e runs it, writes the token and
 *   the proxy's declaration (ONBOARDING_PROXY_CONFIG_DIR) as the example's task definition tells it;
 * - the example's own istio-proxy command runs under /bin/sh on those files; what pilot-agent was
 *   started with goes through the pilot-agent model (metadata, ProxyConfig, health checker), and the
 *   proxy's identity is what istiod's CA would certify for the token under docs/connect-a-mesh.md's JWT_RULE;
 * - the app is a real TCP listener the probe connects to.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/moto.js';
import { agentBundle } from '../support/agent-process.js';
import { exampleIstioManifest } from '../support/example-task-entry.js';
import { closeApp, ISTIOD_ADDRESS, listenLikeAnApp, startHealthWorld, type HealthWorld } from '../support/health-world.js';
import type { ModelService } from '../support/istiod-model/endpoints.js';
import type { KubernetesObject } from '../support/kubernetes/apply-merge.js';

const run = promisify(execFile);

let dir: string;
let world: HealthWorld;
let appPort: number;

// The example's group, with its probe pointed at this machine's free port instead of 8080.
const ratingsGroup = () => {
  const group = exampleIstioManifest('workloadgroup.yaml') as KubernetesObject & { spec: { probe: { tcpSocket: { port: number } } } };
  group.spec.probe.tcpSocket.port = appPort;
  return group;
};
const ratingsService = exampleIstioManifest('service.yaml') as ModelService;
// A group without a probe, and its Service.
const reviewsGroup = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'reviews', namespace: 'bookinfo', labels: { app: 'reviews' } }, spec: { metadata: { labels: { app: 'reviews' } }, template: { serviceAccount: 'bookinfo-reviews', ports: { http: 9080 } } } } as KubernetesObject;
const reviewsService: ModelService = { metadata: { name: 'reviews', namespace: 'bookinfo' }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] } } as ModelService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'health-e2e-'));
  // The bundle the image ships, built as `npm run build:agent` builds it, run from a directory with no node_modules.
  const bundle = join(dir, 'bundle', 'ecs-mesh-agent.mjs');
  await run(process.execPath, ['scripts/build-agent.mjs', '--outfile', bundle]);
  appPort = await freePort();
  world = await startHealthWorld({ dir, manifests: [ratingsGroup(), reviewsGroup], apps: ['ratings', 'reviews'], agent: agentBundle(bundle, dir) });
}, 120_000);

afterAll(async () => {
  await world?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a task of a probed group is served by istiod exactly while its probe passes', () => {
  it('joins once the probe passes, leaves when it fails, comes back, and a reconcile pass writes nothing meanwhile', async () => {
    const t0 = new Date();
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
    const task = await world.startTask('ratings');
    const { volume, address, entryName } = task;
    const endpoint = `${address}:9080`;
    // The entry is health-checked: not served before any proxy reports.
    expect(world.mesh.served(ratingsService)).toEqual([]);

    // What the agent wrote, as istio-proxy's shell and pilot-agent read it.
    const proxy = await world.startProxy(task);
    expect(proxy.metadata).toMatchObject({ workloadEntry: entryName, namespace: 'bookinfo' });
    expect(proxy.proxyConfig).toMatchObject({ discoveryAddress: ISTIOD_ADDRESS, interceptionMode: 'NONE', readinessProbe: ratingsGroup().spec.probe });
    expect(proxy.identity).toEqual({ namespace: 'bookinfo', serviceAccount: 'bookinfo-ratings' });
    expect(readFileSync(join(volume, 'workload-entry.env'), 'utf8')).toContain(`ISTIO_META_WORKLOAD_ENTRY=${entryName}\n`);

    await proxy.connect(at(1));
    // The app is not listening yet: the first probe fails, istiod records Healthy=False.
    await proxy.probe(at(2));
    expect(world.mesh.served(ratingsService)).toEqual([]);
    const app = await listenLikeAnApp(appPort);
    await proxy.probe(at(7));
    expect(world.mesh.served(ratingsService)).toEqual([endpoint]);

    // Our reconciler over the converged mesh: istiod's annotations and condition are not drift.
    const writesBefore = world.ourMeshWrites();
    await world.stack.reconcileNow();
    expect(world.ourMeshWrites()).toBe(writesBefore);
    expect(world.mesh.served(ratingsService)).toEqual([endpoint]);

    await closeApp(app);
    await proxy.probe(at(12));
    expect(world.mesh.served(ratingsService)).toEqual([]);
    const again = await listenLikeAnApp(appPort);
    await proxy.probe(at(17));
    expect(world.mesh.served(ratingsService)).toEqual([endpoint]);

    // A disconnect keeps the last condition until istiod's grace period has passed, then removes it.
    await proxy.disconnect(at(20));
    expect(world.mesh.served(ratingsService)).toEqual([endpoint]);
    await world.mesh.istiod.runDueCleanups(at(20 + 11));
    expect(world.mesh.served(ratingsService)).toEqual([]);
    // Reconnected (to a restarted istiod): served again after its next passing probe.
    world.mesh.restartIstiod('istiod-5f7c9d8b6-z8k1p');
    const restarted = await world.startProxy(task);
    await restarted.connect(at(40));
    await restarted.probe(at(41));
    expect(world.mesh.served(ratingsService)).toEqual([endpoint]);

    // The task stops: drained, its entry removed, no longer served.
    await world.stopTask(task);
    expect(world.mesh.served(ratingsService)).toEqual([]);
    await closeApp(again);
  }, 120_000);

  it('a group without a probe: no health annotation, no probe for istio-agent, served at once, and istiod writes nothing', async () => {
    const task = await world.startTask('reviews');
    const { address, entryName } = task;
    const entry = world.mesh.double.objects('WorkloadEntry').find((e) => e.metadata.name === entryName)!;
    expect(Object.keys(entry.metadata.annotations ?? {}).filter((k) => k.startsWith('proxy.istio.io/'))).toEqual([]);
    expect(world.mesh.served(reviewsService)).toEqual([`${address}:9080`]);

    const proxy = await world.startProxy(task);
    expect(proxy.metadata.workloadEntry).toBe(entryName);
    expect(proxy.probes).toBe(false);
    const version = entry.metadata.resourceVersion;
    await proxy.connect(new Date());
    expect(world.mesh.double.objects('WorkloadEntry').find((e) => e.metadata.name === entryName)!.metadata.resourceVersion).toBe(version);
    expect(world.mesh.served(reviewsService)).toEqual([`${address}:9080`]);
  }, 120_000);
});
