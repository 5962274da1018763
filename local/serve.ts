/**
 * `npm run local`: the HTTP routes on 127.0.0.1:$PORT (default 3000) plus moto, the ECS event
 * source and the queue consumer, all running until Ctrl-C or SIGTERM.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Server } from 'node:http';
import { startHttpApi } from './http-api.js';
import { startLocalStack } from './stack.js';

const port = Number(process.env.PORT ?? 3000);
const stateFile = resolve('.local/stack.json');

const baseUrl = `http://127.0.0.1:${port}`;
const stack = await startLocalStack({
  motoPort: process.env.MOTO_PORT ? Number(process.env.MOTO_PORT) : undefined,
  meshDir: process.env.MESH_FILE_DIR,
  // ISSUER_URL may name the same base URL in another spelling (a trailing slash, say).
  issuerUrl: process.env.ISSUER_URL || baseUrl,
});
let server: Server | undefined;
try {
  server = await startHttpApi(stack.routes, port);
} catch (error) {
  console.error(`[local] cannot listen on 127.0.0.1:${port}: ${(error as Error).message} (set PORT to use another port)`);
  await stack.stop();
  process.exit(1);
}
stack.events.start();
stack.consumer.start();
// On AWS an EventBridge schedule runs token maintenance; locally, once a minute.
const maintenance = setInterval(() => void stack.maintainTokens().catch((e: unknown) => console.error('[token-maintenance]', e)), 60_000);
// On AWS the reconciler runs every reconcileIntervalMinutes; locally every RECONCILE_INTERVAL_SECONDS (60).
const reconcileEvery = Number(process.env.RECONCILE_INTERVAL_SECONDS ?? 60) * 1000;
const reconciling = setInterval(() => void stack.reconcileNow().catch((e: unknown) => console.error('[reconcile]', e)), reconcileEvery);

mkdirSync(resolve('.local'), { recursive: true });
// `npm run invoke` and the CLI find the running stack here.
writeFileSync(stateFile, JSON.stringify({ baseUrl, awsEndpoint: stack.moto.endpoint, meshDir: stack.meshDir, ...stack.resources }, null, 2));
console.log(`ECS mesh onboarding (local) ready
  API:         ${baseUrl}   (${stack.routes.map((r) => `${r.method} ${r.path}`).join(', ')})
  issuer:      ${baseUrl}   (tokens' iss; JWKS at ${baseUrl}/.well-known/jwks.json)
  local AWS:   ${stack.moto.endpoint}   (AWS_ENDPOINT_URL; credentials testing/testing, region us-east-1)
  mesh dir:    ${stack.meshDir}   (put WorkloadGroup YAML under workloadgroups/)
  task events: ${stack.resources.queueUrl}
Ctrl-C stops everything.`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(maintenance);
  clearInterval(reconciling);
  console.log(`\n[local] ${signal}: stopping`);
  setTimeout(() => {
    console.error('[local] shutdown took over 15 s; exiting anyway');
    process.exit(1);
  }, 15_000).unref();
  server?.close();
  server?.closeAllConnections();
  await stack.stop();
  rmSync(stateFile, { force: true });
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
