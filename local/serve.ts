/**
 * `npm run local`: the HTTP routes on 127.0.0.1:$PORT (default 3000) plus moto, the ECS event
 * source and the queue consumer, all running until Ctrl-C or SIGTERM. While it runs, its context
 * file (local/context.ts) tells the CLI and `npm run invoke` where it is.
 */
import type { Server } from 'node:http';
import { localContextPath, removeLocalContext, writeLocalContext } from './context.js';
import { startHttpApi } from './http-api.js';
import { LOCAL_AWS_ENV } from './moto.js';
import { startLocalStack } from './stack.js';
import { startLocalIstiod } from './istiod.js';
import { resolve } from 'node:path';

const port = Number(process.env.PORT ?? 3000);
const contextFile = localContextPath();

const baseUrl = `http://127.0.0.1:${port}`;
// LOCAL_MESH=istiod: the functions write to the Kubernetes API double, with the istiod model beside it.
const istiod = await startLocalIstiod(process.env.LOCAL_MESH, resolve(process.env.MESH_FILE_DIR ?? '.local/mesh')).catch((error: unknown) => {
  console.error(`[local] ${(error as Error).message}`);
  process.exit(2);
});
const stack = await startLocalStack({
  motoPort: process.env.MOTO_PORT ? Number(process.env.MOTO_PORT) : undefined,
  meshDir: process.env.MESH_FILE_DIR,
  // ISSUER_URL may name the same base URL in another spelling (a trailing slash, say).
  issuerUrl: process.env.ISSUER_URL || baseUrl,
  ...(istiod ? { kubernetes: istiod.kubernetes } : {}),
  // LOCAL_MEMBER_ACCOUNTS=444455556666,...: this stack is a hub, and those accounts its members (docs/multi-account.md#hub-and-spoke).
  memberAccounts: (process.env.LOCAL_MEMBER_ACCOUNTS ?? '').split(',').map((a) => a.trim()).filter(Boolean),
});
let server: Server | undefined;
try {
  server = await startHttpApi([...stack.routes, ...(istiod?.routes ?? [])], port);
} catch (error) {
  console.error(`[local] cannot listen on 127.0.0.1:${port}: ${(error as Error).message} (set PORT to use another port)`);
  await stack.stop();
  process.exit(1);
}
stack.events.start();
stack.consumer.start();
let stopping = false;
// A pass cut off by the shutdown is expected: no stack trace for it.
const report = (what: string) => (error: unknown) => void (stopping || console.error(what, error));
// On AWS an EventBridge schedule runs token maintenance; locally, once a minute.
const maintenance = setInterval(() => void stack.maintainTokens().catch(report('[token-maintenance]')), 60_000);
// On AWS the reconciler runs every reconcileIntervalMinutes; locally every RECONCILE_INTERVAL_SECONDS (60).
const reconcileEvery = Number(process.env.RECONCILE_INTERVAL_SECONDS ?? 60) * 1000;
const reconciling = setInterval(() => void stack.reconcileNow().catch(report('[reconcile]')), reconcileEvery);
// On AWS the names function runs every minute; locally too (it does nothing on the file mesh).
const naming = setInterval(() => void stack.refreshNames().catch(report('[names]')), Number(process.env.NAMES_INTERVAL_SECONDS ?? 60) * 1000);
// Each member's ECS events, forwarded to this hub as its forwarding rule would, every second.
const forwarding = setInterval(() => void Promise.all(stack.members.map((m) => m.pollOnce())).catch(report('[member-event-forwarding]')), 1000);

writeLocalContext(contextFile, {
  version: 1,
  pid: process.pid,
  startedAt: new Date().toISOString(),
  apiUrl: baseUrl,
  region: LOCAL_AWS_ENV.AWS_REGION,
  credentials: { mode: 'moto', accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  awsEndpoint: stack.moto.endpoint,
  meshDir: stack.meshDir,
  resources: stack.resources,
});
console.log(`ECS mesh onboarding (local) ready
  API:         ${baseUrl}   (${stack.routes.map((r) => `${r.method} ${r.path}`).join(', ')})
  issuer:      ${baseUrl}   (tokens' iss; JWKS at ${baseUrl}/.well-known/jwks.json)
  local AWS:   ${stack.moto.endpoint}   (AWS_ENDPOINT_URL; credentials testing/testing, region us-east-1)
  ${istiod ? istiod.banner(baseUrl) : `mesh dir:    ${stack.meshDir}   (put WorkloadGroup YAML under workloadgroups/)`}${stack.namesZoneId ? `
  mesh names:  private hosted zone svc.cluster.local ${stack.namesZoneId} on moto   (refreshed every minute from the groups' ecsmesh.io/upstreams)` : ''}
  task events: ${stack.resources.queueUrl}${process.env.LOCAL_MEMBER_ACCOUNTS ? `
  members:     ${stack.members.length} account(s), ${process.env.LOCAL_MEMBER_ACCOUNTS}   (their ECS events forwarded here; AssumeRole into arn:aws:iam::<member>:role/admin acts there)` : ''}
  context:     ${contextFile}   (ecs-mesh and npm run invoke find this stack here)
Ctrl-C stops everything.`);

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(maintenance);
  clearInterval(reconciling);
  clearInterval(naming);
  clearInterval(forwarding);
  console.log(`\n[local] ${signal}: stopping`);
  setTimeout(() => {
    console.error('[local] shutdown took over 15 s; exiting anyway');
    process.exit(1);
  }, 15_000).unref();
  server?.close();
  server?.closeAllConnections();
  await stack.stop();
  await istiod?.stop();
  removeLocalContext(contextFile);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
