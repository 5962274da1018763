/**
 * A kuma-dp reconnect past its first token's expiry (docs/connect-a-mesh.md#kuma--kong-mesh). kuma-dp is started
 * from the guide's task-definition block and CP config as its source starts it
 * (test/support/kuma-dp-model.ts), the agent's own file writer replaces the token, and Kuma's
 * checks (kuma_dp_token.py: PyJWT with the key as `keys export --format pem` gives it) judge what
 * the reconnect presents. Tokens are minted at chosen times (the first one expired an hour ago), so
 * nothing waits for a clock.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { writePrivateFile } from '../../cli/agent/private-file.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { onboardingTokenClaims } from '../../shared/core/onboarding-token.js';
import { workloadEntryName } from '../../shared/core/workload-entry.js';
import { startKumaDp, type KumaDpContainer } from '../support/kuma-dp-model.js';
import { TestTokenSigner } from '../support/in-memory-ports.js';
import { kumaVerdict, type KumaDataplane } from '../support/third-party-verifier.js';

interface Container extends KumaDpContainer {
  Name: string;
  Command?: string[];
  MountPoints?: { SourceVolume: string; ContainerPath: string }[];
}

const GUIDE = readFileSync(new URL('../../docs/connect-a-mesh.md', import.meta.url), 'utf8');
const section = GUIDE.slice(GUIDE.indexOf('## Kuma / Kong Mesh'));
const yamlBlocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map(([, body]) => parse(body!) as unknown);
const cpConfig = yamlBlocks.find((b): b is { dpServer: { authn: { enableReloadableTokens?: boolean } } } => typeof b === 'object' && b !== null && 'dpServer' in b);
const containers = yamlBlocks.find((b): b is Container[] => Array.isArray(b) && b.some((c: Container) => c.Name === 'kuma-dp'));

const TASK_ID = '0123456789abcdef0123456789abcdef';
const TASK_ARN = `arn:aws:ecs:us-east-1:123456789012:task/prod/${TASK_ID}`;
const MESH = 'default';
const group: WorkloadGroup = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadGroup',
  metadata: { name: 'ratings', namespace: 'bookinfo', annotations: { 'ecsmesh.io/token-profile': 'kuma' } },
  spec: { template: { serviceAccount: 'bookinfo-ratings' } },
};
const HOUR = 3600;

const envOf = (c: Container) => Object.fromEntries((c.Environment ?? []).map((e) => [e.Name, e.Value]));

describe('a kuma-dp reconnect after its first token expired', () => {
  let volume: string;
  let signer: TestTokenSigner;
  let publicKeys: { kid: string; key: string; mesh: string }[];

  beforeEach(async () => {
    volume = await mkdtemp(join(tmpdir(), 'kuma-dp-'));
    signer = await TestTokenSigner.create('kuma-key-1');
    publicKeys = [{ kid: signer.kid, key: await exportSPKI(signer.publicKey), mesh: MESH }];
  });
  afterEach(() => rm(volume, { recursive: true, force: true }));

  /** The per-task kuma token the exchange issues, issued `agoSeconds` before now, for an hour. */
  const perTaskToken = async (agoSeconds: number) => {
    const now = new Date(Date.now() - agoSeconds * 1000);
    const claims = onboardingTokenClaims({ profile: 'kuma', group, issuer: 'https://ecs-mesh.example', audiences: ['istio-ca'], mesh: MESH, now, lifetimeSeconds: HOUR, jti: `jti-${agoSeconds}`, taskArn: TASK_ARN, entryName: workloadEntryName('ratings', TASK_ID) });
    return (await signer.sign(claims, now)).token;
  };

  /** A path as one container sees it, on the task volume both mount. */
  const onVolume = (c: Container, path: string) => {
    const mount = (c.MountPoints ?? []).find((m) => m.SourceVolume === 'mesh-token' && path.startsWith(`${m.ContainerPath}/`));
    if (!mount) throw new Error(`${c.Name}: ${path} is not on the mesh-token volume`);
    return join(volume, path.slice(mount.ContainerPath.length));
  };

  /** The data plane the guide's kuma-dp declares, its template variables filled as kuma-dp fills them. */
  const declaredDataplane = (kumaDp: Container): KumaDataplane => {
    const name = /--name "([^"]+)"/.exec(kumaDp.Command!.join(' '))![1]!.replace('$TASK_ID', TASK_ID);
    const vars: Record<string, string> = { name, address: '10.0.1.23' };
    const resource = parse(envOf(kumaDp).KUMA_DATAPLANE_RUNTIME_RESOURCE!.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, v: string) => vars[v]!)) as { name: string; mesh: string; labels: Record<string, string> };
    return { name: resource.name, mesh: resource.mesh, labels: resource.labels };
  };

  it("succeeds with the guide's setup: kuma-dp reads the file the agent refreshed, and the CP has Envoy re-read it", async () => {
    expect(containers, 'the guide shows the containers of a kuma-dp task').toBeDefined();
    const agent = containers!.find((c) => c.Name === 'agent')!;
    const kumaDp = containers!.find((c) => c.Name === 'kuma-dp')!;
    const agentFile = onVolume(agent, envOf(agent).ONBOARDING_TOKEN_PATH!);
    expect(onVolume(kumaDp, envOf(kumaDp).KUMA_DATAPLANE_RUNTIME_TOKEN_PATH!)).toBe(agentFile);
    const dataplane = declaredDataplane(kumaDp);
    expect(dataplane.name).toBe(workloadEntryName(group.metadata.name, TASK_ID));

    // The first token, written before kuma-dp starts (it waits for the agent's health check).
    const first = await perTaskToken(2 * HOUR);
    await writePrivateFile(agentFile, first);
    const proxy = startKumaDp({
      container: kumaDp,
      enableReloadableTokens: cpConfig?.dpServer.authn.enableReloadableTokens === true,
      resolveSecret: () => first,
      readFile: (path) => readFileSync(onVolume(kumaDp, path), 'utf8'),
    });
    expect((await signer.verify(proxy.credentialForNewStream(), new Date(Date.now() - 2 * HOUR * 1000 + 1000))).payload.Name).toBe(dataplane.name);
    // The agent's refresh; then the first token expires, and the CP restarts.
    await writePrivateFile(agentFile, await perTaskToken(60));
    const reconnect = proxy.credentialForNewStream();

    expect(reconnect).toBe(await readFile(agentFile, 'utf8'));
    expect(await kumaVerdict({ token: reconnect, publicKeys, dataplane })).toMatchObject({ ok: true, claims: { Name: dataplane.name, Mesh: MESH } });
  });

  it.each([
    { case: 'the token injected at start (an ECS secret), even with reloadable tokens', container: { Secrets: [{ Name: 'KUMA_DATAPLANE_RUNTIME_TOKEN', ValueFrom: 'arn:…:token::' }] }, enableReloadableTokens: true },
    { case: 'the token injected at start, without reloadable tokens', container: { Secrets: [{ Name: 'KUMA_DATAPLANE_RUNTIME_TOKEN', ValueFrom: 'arn:…:token::' }] }, enableReloadableTokens: false },
    { case: "the agent's file, but a CP without reloadable tokens", container: { Environment: [{ Name: 'KUMA_DATAPLANE_RUNTIME_TOKEN_PATH', Value: '/var/run/secrets/tokens/kuma-token' }] }, enableReloadableTokens: false },
  ])('is refused with $case', async ({ container, enableReloadableTokens }) => {
    const file = join(volume, 'kuma-token');
    const first = await perTaskToken(2 * HOUR);
    await writePrivateFile(file, first);
    const proxy = startKumaDp({ container, enableReloadableTokens, resolveSecret: () => first, readFile: () => readFileSync(file, 'utf8') });
    await writePrivateFile(file, await perTaskToken(60));

    const verdict = await kumaVerdict({ token: proxy.credentialForNewStream(), publicKeys, dataplane: { name: workloadEntryName('ratings', TASK_ID), mesh: MESH, labels: { 'kuma.io/service': 'ratings' } } });

    expect(verdict).toMatchObject({ ok: false, error: expect.stringContaining('ExpiredSignatureError') });
  });
});
