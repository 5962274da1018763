/**
 * One issuer for per-account deployments (docs/multi-account.md#a-control-plane-per-account): three
 * deployments, each with its own key sets (istio and kuma) in its own secrets, each rotating on its
 * own two-phase schedule. Every deployment's istio tokens carry the issuer deployment's URL and
 * verify by istiod's rules (PyJWT, istiod_jwt_rule.py) under ONE JWT_RULE whose keys come from the
 * issuer's aggregated JWKS, served over HTTP from the peers' own discovery; every kuma token
 * verifies under ONE Kuma key list (the three `keys export --format pem` outputs). Then a peer goes
 * away: its keys stay for the keep bound, then leave, and its tokens stop verifying.
 *
 * Each deployment is its own key prefix in moto (in production, its own account). Time is an
 * injected clock for key states and aggregation; token claims use the real clock, since the
 * verifiers check `exp` and `nbf` against it.
 */
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeProtectedHeader } from 'jose';
import { createDiscoveryHandler } from '../../functions/discovery/handler.js';
import { AggregatedJwks } from '../../shared/adapters/aggregated-jwks.js';
import { createJwks, createKeyStore, signingKeysSecretName } from '../../shared/adapters/key-store-factory.js';
import type { SecretsManagerJwks } from '../../shared/adapters/secrets-manager-jwks.js';
import type { SecretsManagerKeyStore } from '../../shared/adapters/secrets-manager-key-store.js';
import { loadConfig } from '../../shared/config.js';
import { serviceTokenClaims } from '../../shared/core/token-claims.js';
import type { TokenProfile } from '../../shared/core/tokens.js';
import { DISCOVERY_KEY_CACHE_SECONDS, JWKS_MAX_AGE_SECONDS, minKeyPrepublishWithPeers } from '../../shared/core/token-lifetime.js';
import { pemBlock } from '../../cli/mesh/commands/keys.js';
import { startHttpApi } from '../../local/http-api.js';
import { freePort } from '../../local/moto.js';
import { asHandler } from '../support/aws-call-recorder.js';
import { localAwsConfig } from '../support/local-aws.js';
import { MemoryLog } from '../support/memory-log.js';
import { istiodVerdictAsync, kumaVerdict, parsePemExport } from '../support/third-party-verifier.js';

const REFRESH_SECONDS = 60;
// What the package check demands of every deployment whose keys the issuer aggregates.
const PREPUBLISH_SECONDS = minKeyPrepublishWithPeers(REFRESH_SECONDS);
const TOKEN_SECONDS = 3600;
const KEY_CACHE_SECONDS = 30;
// The longest token lifetime + the refresh: what the package check demands of peerJwksKeepSeconds.
const KEEP_SECONDS = TOKEN_SECONDS + REFRESH_SECONDS;

let now = Date.now();
const clock = () => now;
const advance = (seconds: number) => (now += seconds * 1000);

const quiet = () => new Logger({ serviceName: 'test', logLevel: 'ERROR' });

interface Deployment {
  name: string;
  prefix: string;
  stores: Record<TokenProfile, SecretsManagerKeyStore>;
  published: Record<TokenProfile, SecretsManagerJwks>;
  server?: Server;
  jwksUrl: string;
}

let sm: SecretsManagerClient;
let issuer = '';
const peerLog = new MemoryLog();
const deployments: Deployment[] = [];

/** One deployment's key stores and published keys, as its Lambdas build them, under its own prefix and the test's clock. */
function keysOf(prefix: string) {
  const config = loadConfig('keys', { TOKEN_SECRET_PREFIX: prefix, KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS), KEY_PREPUBLISH_SECONDS: String(PREPUBLISH_SECONDS), DATA_PLANE_TOKEN_LIFETIME_SECONDS: String(TOKEN_SECONDS) });
  const stores = { istio: createKeyStore(config, sm, 'istio', clock), kuma: createKeyStore(config, sm, 'kuma', clock) };
  // What discovery reads (functions/discovery/handler.ts): the public keys, cached 30 s.
  const published = { istio: createJwks(config, sm, DISCOVERY_KEY_CACHE_SECONDS, 'istio', clock), kuma: createJwks(config, sm, DISCOVERY_KEY_CACHE_SECONDS, 'kuma', clock) };
  return { stores, published };
}

/** Serves a discovery handler on its own port, as the deployment's HTTP API does. */
async function serveDiscovery(port: number, handler: ReturnType<typeof createDiscoveryHandler>, prefix: string): Promise<Server> {
  const http = asHandler({ fn: 'discovery', params: { TokenSecretPrefix: prefix } }, (event: Parameters<typeof handler>[0], context: Parameters<typeof handler>[1]) => handler(event, context));
  return startHttpApi(
    [
      { method: 'GET', path: '/.well-known/openid-configuration', handler: http },
      { method: 'GET', path: '/.well-known/jwks.json', handler: http },
    ],
    port,
  );
}

/** A service token of `profile` minted by `d` now (claims on the real clock, key chosen at the test's clock). */
async function mint(d: Deployment, profile: TokenProfile): Promise<string> {
  const group = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: d.name, namespace: d.name }, spec: { template: { serviceAccount: `${d.name}-sa` } } };
  const claims = serviceTokenClaims({ profile, group: group as never, issuer, audiences: ['istio-ca'], mesh: 'default', now: new Date(), lifetimeSeconds: TOKEN_SECONDS, jti: randomUUID() });
  return (await d.stores[profile].sign(claims, new Date(clock()))).token;
}

/** What `ecs-mesh keys export --format pem --token-profile kuma` prints for each deployment, as one Kuma key list. */
async function kumaKeyList() {
  const blocks = await Promise.all(deployments.map(async (d) => (await d.published.kuma.statuses(new Date(clock()))).map((s) => pemBlock({ ...s, jwk: { ...s.jwk }, profile: 'kuma' })).join('')));
  return parsePemExport(blocks.join(''), 'default');
}

const jwtRule = () => JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks.json`, audiences: ['istio-ca'] });
const discoveryRule = () => JSON.stringify({ issuer, audiences: ['istio-ca'] });
const istiod = (token: string, rule = jwtRule()) => istiodVerdictAsync(rule, token);
const kuma = async (token: string, publicKeys: Awaited<ReturnType<typeof kumaKeyList>>, d: Deployment) =>
  kumaVerdict({ token, publicKeys, dataplane: { name: `${d.name}-1`, mesh: 'default', labels: { 'kuma.io/service': d.name } } });
const kidOf = (token: string) => decodeProtectedHeader(token).kid;
/** The kids the issuer's discovery serves now, over HTTP. */
const servedKids = async () => ((await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

beforeAll(async () => {
  sm = new SecretsManagerClient(localAwsConfig());
  const run = Date.now();
  const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${portA}`;
  for (const [name, port] of [['alpha', portA], ['bravo', portB], ['charlie', portC]] as const) {
    const prefix = `${name}-${run}/ecs-mesh`;
    deployments.push({ name, prefix, ...keysOf(prefix), jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` });
  }
  const [a, b, c] = deployments as [Deployment, Deployment, Deployment];
  // Every deployment's ISSUER_URL is the issuer deployment's; only the issuer aggregates.
  for (const peer of [b, c]) peer.server = await serveDiscovery(Number(new URL(peer.jwksUrl).port), createDiscoveryHandler(peer.published.istio, issuer, quiet(), undefined, clock), peer.prefix);
  const aggregate = new AggregatedJwks(a.published.istio, { peerJwksUrls: [b.jwksUrl, c.jwksUrl], refreshSeconds: REFRESH_SECONDS, keepSeconds: KEEP_SECONDS, timeoutMs: 2000, clock }, peerLog);
  a.server = await serveDiscovery(portA, createDiscoveryHandler(aggregate, issuer, quiet(), undefined, clock), a.prefix);
}, 60_000);

afterAll(() => Promise.all(deployments.map((d) => new Promise((resolve) => (d.server ? d.server.close(resolve) : resolve(undefined))))));

describe('three deployments, one issuer', () => {
  it('verify under one JWT_RULE and one Kuma key list through independent two-phase rotations, and a peer that is gone leaves after the bound', async () => {
    const [a, b, c] = deployments as [Deployment, Deployment, Deployment];
    // 1. Each deployment's first keys (a new stack's first key signs at once).
    for (const d of deployments) for (const profile of ['istio', 'kuma'] as const) await d.stores[profile].rotate(new Date(clock()));
    const first = Object.fromEntries(await Promise.all(deployments.map(async (d) => [d.name, { istio: await mint(d, 'istio'), kuma: await mint(d, 'kuma') }] as const)));
    const firstKumaList = await kumaKeyList();

    for (const d of deployments) {
      const token = first[d.name]!.istio;
      expect(await istiod(token)).toEqual({ ok: true, identity: `spiffe://cluster.local/ns/${d.name}/sa/${d.name}-sa` });
      expect(await istiod(token, discoveryRule())).toMatchObject({ ok: true });
      expect(await kuma(first[d.name]!.kuma, firstKumaList, d)).toMatchObject({ ok: true });
    }
    // Each deployment signs with its own keys only: three key sets, no kid in two of them.
    const firstKids = deployments.map((d) => kidOf(first[d.name]!.istio));
    expect(new Set(firstKids).size).toBe(3);
    for (const d of deployments) expect(new Set((await d.published.istio.publicKeys(new Date(clock()))).map((k) => k.kid))).toEqual(new Set([kidOf(first[d.name]!.istio)]));
    expect(new Set(deployments.map((d) => signingKeysSecretName(d.prefix, 'istio'))).size).toBe(3);

    // 2. Independent rotations, at different times: each pending key is in the aggregate (what
    // istiod fetches) within the peer's discovery cache + the refresh, which with the JWKS max-age
    // istiod may cache for is before it signs.
    const pending: Record<string, { istio: string; kuma: string }> = {};
    for (const d of [b, c, a]) {
      const rotatedAt = clock();
      const istio = await d.stores.istio.rotate(new Date(rotatedAt));
      const kumaChange = await d.stores.kuma.rotate(new Date(rotatedAt));
      pending[d.name] = { istio: istio.pendingKid!, kuma: kumaChange.pendingKid! };
      expect(istio.outcome).toBe('rotated');
      // The latest it can appear: the peer's discovery read the old set just before, and the issuer the peer.
      advance(DISCOVERY_KEY_CACHE_SECONDS + REFRESH_SECONDS);
      expect(await servedKids()).toContain(pending[d.name]!.istio);
      expect(clock() + JWKS_MAX_AGE_SECONDS * 1000).toBeLessThanOrEqual(rotatedAt + PREPUBLISH_SECONDS * 1000);
      // A new key never signs while pending.
      expect(kidOf(await mint(d, 'istio'))).toBe(kidOf(first[d.name]!.istio));
      advance(10);
    }
    // The Kuma list an operator exports while the keys are pending, and does not touch again.
    const kumaList = await kumaKeyList();
    expect(kumaList.map((k) => k.kid)).toEqual(expect.arrayContaining(Object.values(pending).map((p) => p.kuma)));

    // 3. Every pending key now signs; the old and the new tokens all verify, by the same rule and list.
    advance(PREPUBLISH_SECONDS);
    for (const d of deployments) {
      const istio = await mint(d, 'istio');
      const kumaToken = await mint(d, 'kuma');
      expect([kidOf(istio), kidOf(kumaToken)]).toEqual([pending[d.name]!.istio, pending[d.name]!.kuma]);
      expect(await istiod(istio)).toEqual({ ok: true, identity: `spiffe://cluster.local/ns/${d.name}/sa/${d.name}-sa` });
      expect(await istiod(first[d.name]!.istio)).toMatchObject({ ok: true });
      expect(await kuma(kumaToken, kumaList, d)).toMatchObject({ ok: true });
      expect(await kuma(first[d.name]!.kuma, kumaList, d)).toMatchObject({ ok: true });
    }

    // 4. charlie's deployment is gone. Its keys stay while tokens it signed may live...
    const charlieToken = await mint(c, 'istio');
    await new Promise((resolve) => c.server!.close(resolve));
    const closedAt = clock();
    advance(REFRESH_SECONDS + 1);
    expect(await istiod(charlieToken)).toMatchObject({ ok: true });
    expect(peerLog.lines).toContainEqual(expect.objectContaining({ message: 'peer JWKS refused', extra: expect.objectContaining({ peer: c.jwksUrl, reason: 'PEER_JWKS_UNREACHABLE' }) }));
    // ...and leave after the bound; alpha's and bravo's tokens are untouched.
    now = closedAt + KEEP_SECONDS * 1000 + 1000;
    const served = await servedKids();
    expect(served).not.toContain(pending.charlie!.istio);
    expect(served).toEqual(expect.arrayContaining([pending.alpha!.istio, pending.bravo!.istio]));
    expect(await istiod(charlieToken)).toMatchObject({ ok: false, stage: 'verify' });
    expect(await istiod(await mint(b, 'istio'))).toMatchObject({ ok: true });
    expect(peerLog.lines).toContainEqual(expect.objectContaining({ message: 'peer keys not served', extra: expect.objectContaining({ peer: c.jwksUrl, reason: 'PEER_KEYS_EXPIRED' }) }));
  }, 120_000);
});
