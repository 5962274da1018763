import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderProxyConfig, writeProxyConfig } from '../../cli/agent/proxy-config.js';
import { proxyConfigFrom } from '../support/istiod-model/pilot-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'proxy-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const probe = { periodSeconds: 5, tcpSocket: { host: '127.0.0.1', port: 8080 } };
const entry = { namespace: 'bookinfo', name: 'ratings-0123456789abcdef' };

/** What /bin/sh makes of the env file, sourced as the example's istio-proxy command does. */
const sourced = (path: string) => execFileSync('/bin/sh', ['-c', `set -a; . '${path}'; set +a; printf '%s' "$ISTIO_META_WORKLOAD_ENTRY"`], { encoding: 'utf8', env: {} });

describe("the proxy's declaration the agent writes", () => {
  it('names the entry for the shell and the probe for pilot-agent, the probe under defaultConfig as PROXY_CONFIG leaves it', async () => {
    await writeProxyConfig(dir, { workloadEntry: entry, readinessProbe: probe });

    expect(sourced(join(dir, 'workload-entry.env'))).toBe(entry.name);
    // The file, then the task definition's PROXY_CONFIG over it (pilot-agent's getMeshConfig).
    const config = proxyConfigFrom(readFileSync(join(dir, 'mesh-config.yaml'), 'utf8'), '{"discoveryAddress":"istiod:15012","interceptionMode":"NONE"}');
    expect(config).toEqual({ readinessProbe: probe, discoveryAddress: 'istiod:15012', interceptionMode: 'NONE' });
    expect(statSync(join(dir, 'mesh-config.yaml')).mode & 0o777).toBe(0o400);
  });

  it('declares nothing when the exchange named no entry and the group has no probe, and both files still parse', () => {
    const { env, meshConfig } = renderProxyConfig({});

    expect(env).not.toContain('ISTIO_META_WORKLOAD_ENTRY=');
    expect(proxyConfigFrom(meshConfig, undefined)).toEqual({});
  });

  it('a group without a probe: the entry is named, no readiness probe is given', async () => {
    const sub = join(dir, 'no-probe');
    await writeProxyConfig(sub, { workloadEntry: entry });

    expect(sourced(join(sub, 'workload-entry.env'))).toBe(entry.name);
    expect(proxyConfigFrom(readFileSync(join(sub, 'mesh-config.yaml'), 'utf8'), undefined).readinessProbe).toBeUndefined();
  });
});
