/**
 * `npm run demo`, last part: what istiod serves. A local stack whose functions write to the
 * Kubernetes API double, with the istiod model beside it (test/support/istiod-model/): the
 * example's probed WorkloadGroup, a task enrolled, its agent writing the proxy's declaration, the
 * example's istio-proxy command started on it, and the Service's endpoints as istiod computes them
 * while the app's probe passes, fails and passes again. Run by scripts/demo.ts in a process of
 * its own (the handlers read their settings from the environment once). Exits non-zero on a miss.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../local/moto.js';
import { AGENT_SOURCES } from '../test/support/agent-process.js';
import { exampleIstioManifest } from '../test/support/example-task-entry.js';
import { closeApp, listenLikeAnApp, startHealthWorld } from '../test/support/health-world.js';
import type { ModelService } from '../test/support/istiod-model/endpoints.js';
import type { KubernetesObject } from '../test/support/kubernetes/apply-merge.js';

const say = (title: string) => console.log(`\n\x1b[1m== ${title}\x1b[0m`);
const fail = (message: string): never => {
  throw new Error(`demo check failed: ${message}`);
};

const dir = resolve('.local/demo-health');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

// The example's group and Service as they are, but for the probe's port: 8080 may be taken here.
const appPort = await freePort();
const group = exampleIstioManifest('workloadgroup.yaml') as KubernetesObject & { spec: { probe: { tcpSocket: { port: number } } } };
group.spec.probe.tcpSocket.port = appPort;
const service = exampleIstioManifest('service.yaml') as ModelService;

const world = await startHealthWorld({ dir, manifests: [group], apps: ['ratings'], agent: AGENT_SOURCES });
let app: Server | undefined;
try {
  const t0 = Date.now();
  const at = (seconds: number) => new Date(t0 + seconds * 1000);
  const endpoints = (expected: string[], why: string) => {
    const served = world.mesh.served(service);
    console.log(`  endpoints of ratings.bookinfo.svc.cluster.local:9080 → ${served.length ? served.join(', ') : '(none)'}   ${why}`);
    if (JSON.stringify(served) !== JSON.stringify(expected)) fail(`istiod would serve [${served.join(', ')}], not [${expected.join(', ')}] (${why})`);
  };
  const healthy = () => {
    const entry = world.mesh.double.objects('WorkloadEntry')[0];
    return JSON.stringify((entry?.status as { conditions?: { type: string; status: string; message?: string }[] } | undefined)?.conditions?.map((c) => ({ [c.type]: c.status, ...(c.message ? { message: c.message } : {}) })) ?? []);
  };

  say('14. What istiod serves: a probed group, its task, its proxy (the Kubernetes API double with the istiod model beside it)');
  console.log(`  WorkloadGroup bookinfo/ratings (examples/ecs-service/istio/workloadgroup.yaml), probe: ${JSON.stringify(group.spec.probe)}`);
  const task = await world.startTask('ratings');
  const endpoint = `${task.address}:9080`;
  const entry = world.mesh.double.objects('WorkloadEntry')[0]!;
  console.log(`  task ${task.taskArn.split('/').pop()} RUNNING → task-events wrote WorkloadEntry bookinfo/${task.entryName}, annotations:`);
  console.log(stringify(entry.metadata.annotations).replace(/^/gm, '    '));
  endpoints([], 'health-checked: istiod waits for the proxy to report the probe');

  console.log('  the agent wrote, before the token:');
  for (const file of ['workload-entry.env', 'mesh-config.yaml']) console.log(`  --- ${file}\n${readFileSync(join(task.volume, file), 'utf8').replace(/^/gm, '    ')}`);
  const proxy = await world.startProxy(task);
  console.log(`  istio-proxy (the template's command under /bin/sh) starts pilot-agent with WORKLOAD_ENTRY=${proxy.metadata.workloadEntry}, namespace ${proxy.metadata.namespace},`);
  console.log(`  readinessProbe ${JSON.stringify(proxy.proxyConfig.readinessProbe)}; istiod's CA certifies the token as ns/${proxy.identity.namespace}/sa/${proxy.identity.serviceAccount}`);
  await proxy.connect(at(1));
  console.log(`  connected: istiod annotates the entry istio.io/workloadController=${String((world.mesh.double.objects('WorkloadEntry')[0]!.metadata.annotations as Record<string, string>)['istio.io/workloadController'])}`);

  say('15. The probe decides: fails, passes, fails, passes');
  await proxy.probe(at(2));
  console.log(`  app not listening on 127.0.0.1:${appPort}: probe fails → ${healthy()}`);
  endpoints([], 'Healthy=False');
  app = await listenLikeAnApp(appPort);
  await proxy.probe(at(7));
  console.log(`  app listening: probe passes → ${healthy()}`);
  endpoints([endpoint], 'Healthy=True');
  const writes = world.ourMeshWrites();
  await world.stack.reconcileNow();
  const passWrites = world.ourMeshWrites() - writes;
  console.log(`  a reconcile pass over the converged mesh: ${passWrites} mesh writes (istiod's annotations and condition are not ours)`);
  if (passWrites !== 0) fail(`the reconcile pass wrote ${passWrites} times`);
  await closeApp(app);
  await proxy.probe(at(12));
  console.log(`  app stopped: probe fails → ${healthy()}`);
  endpoints([], 'out of traffic; ECS still says RUNNING, the task stays enrolled');
  app = await listenLikeAnApp(appPort);
  await proxy.probe(at(17));
  endpoints([endpoint], 'back after one passing probe');

  say('16. The proxy disconnects, istiod restarts, the task stops');
  await proxy.disconnect(at(20));
  endpoints([endpoint], 'disconnected: the last condition holds for the 10 s grace period');
  await world.mesh.istiod.runDueCleanups(at(31));
  endpoints([], 'grace period over: istiod removed the condition');
  world.mesh.restartIstiod('istiod-5f7c9d8b6-z8k1p');
  const again = await world.startProxy(task);
  await again.connect(at(40));
  await again.probe(at(41));
  endpoints([endpoint], 'reconnected to the restarted istiod, probe passing');
  await world.stopTask(task);
  endpoints([], 'task stopped: drained, its entry removed');
  console.log('\n\x1b[32mHealth demo complete.\x1b[0m');
} finally {
  if (app) await closeApp(app);
  await world.stop();
}
