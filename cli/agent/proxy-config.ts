/**
 * The two files istio-proxy reads at start so that istiod health-checks the task
 * (docs/onboard-a-service.md#health-checks). istiod serves a health-checked WorkloadEntry only
 * once a proxy connects naming it in its `WORKLOAD_ENTRY` metadata and reports a passing probe (pilot/pkg/autoregistration
 * controller.go `OnConnect`); istio-agent runs the probe of its ProxyConfig's `readinessProbe`
 * (pkg/istio-agent/xds_proxy.go, `NewWorkloadHealthChecker`). The entry's name is known only at
 * run time, so the agent writes both from the exchange's answer:
 *
 * - `workload-entry.env`, sourced by the proxy's shell: `ISTIO_META_WORKLOAD_ENTRY=<name>`, which
 *   pilot-agent turns into the `WORKLOAD_ENTRY` node metadata;
 * - `mesh-config.yaml`, given to pilot-agent as `--meshConfig`: `defaultConfig.readinessProbe`, the
 *   group's probe, as `istioctl x workload entry configure` writes it for a VM (workload.go). The
 *   task definition's PROXY_CONFIG still applies over it, field by field (config.go `getMeshConfig`).
 */
import { join } from 'node:path';
import type { ProxyDeclaration } from './exchange.js';
import { writePrivateFile } from './private-file.js';

export const PROXY_ENV_FILE = 'workload-entry.env';
export const PROXY_MESH_CONFIG_FILE = 'mesh-config.yaml';

/** The files' contents. Without an entry (an exchange older than this agent) both say so and declare nothing. */
export function renderProxyConfig(proxy: ProxyDeclaration): { env: string; meshConfig: string } {
  const entry = proxy.workloadEntry;
  // The name was checked to be an RFC 1123 name (exchange.ts), so it needs no shell quoting.
  const env = entry
    ? `# ecs-mesh-agent: the WorkloadEntry this task's proxy stands for (${entry.namespace}/${entry.name})\nISTIO_META_WORKLOAD_ENTRY=${entry.name}\n`
    : '# ecs-mesh-agent: the exchange named no WorkloadEntry; istiod will not health-check this task\n';
  const probe = proxy.readinessProbe;
  // JSON is YAML; the probe is the WorkloadGroup's, whose CRD has the same schema as ProxyConfig's.
  const meshConfig = probe
    ? `# ecs-mesh-agent: the WorkloadGroup's probe, run by istio-agent and reported to istiod\n${JSON.stringify({ defaultConfig: { readinessProbe: probe } })}\n`
    : '# ecs-mesh-agent: the WorkloadGroup has no probe; istiod serves the task without health checks\n{}\n';
  return { env, meshConfig };
}

/** Writes both files into `dir`, atomically each, before the token: a proxy that sees the token sees them. */
export async function writeProxyConfig(dir: string, proxy: ProxyDeclaration, owner?: { uid: number; gid: number }): Promise<void> {
  const { env, meshConfig } = renderProxyConfig(proxy);
  await writePrivateFile(join(dir, PROXY_MESH_CONFIG_FILE), meshConfig, owner);
  await writePrivateFile(join(dir, PROXY_ENV_FILE), env, owner);
}
