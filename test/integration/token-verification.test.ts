import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { until } from '../support/local-process.js';
import { startMintingStack, type BookinfoGroup, type MintingStack } from '../support/minting-stack.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import { loadConfig } from '../../shared/config.js';
import { createJwks, createKeyStore } from '../../shared/adapters/key-store-factory.js';
import { runCli } from '../support/cli-run.js';
import { istiodVerdict, kumaVerdict, parsePemExport, type KumaDataplane } from '../support/third-party-verifier.js';

// The whole path as an operator runs it: `npm run local` as a process, tasks launched with
// RunTask, tokens minted by task-events, and verifiers that are not ours (jose, and PyJWT by
// istiod's and Kuma's rules) that know nothing but the issuer URL or the exported keys.
const GROUPS: BookinfoGroup[] = [
  { name: 'ratings', serviceAccount: 'bookinfo-ratings' },
  { name: 'payments', serviceAccount: 'payments', tokenProfile: 'kuma', templateLabels: { 'kuma.io/workload': 'payments' } },
  { name: 'orders', serviceAccount: 'orders', tokenProfile: 'kuma' },
];
// Compressed: a rotated-in key is published 4 s before it signs; signers re-read keys every second.
const PREPUBLISH_SECONDS = 4;
const LOCAL_ENV = { KEY_PREPUBLISH_SECONDS: String(PREPUBLISH_SECONDS), KEY_CACHE_SECONDS: '1' };

let stack: MintingStack;
let issuer = '';
let aws: MintingStack['aws'];
const output = () => stack.local.output();
const stop = () => stack.local.stop();
const secretJson = (id: string) => stack.secretJson(id);

beforeAll(async () => {
  stack = await startMintingStack(GROUPS, GROUPS.map((g) => g.name), LOCAL_ENV);
  ({ issuer, aws } = stack);
}, 120_000);

afterAll(() => stack?.close());

/** `ecs-mesh` against the running local API, signed with the local operator's credentials. */
const ecsMesh = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: issuer, AWS_REGION: 'us-east-1' }, credentials: () => LOCAL_OPERATOR });
/** What Kuma's CP config holds after an operator pasted `keys export --format pem --token-profile <p>`. */
const exportedKeys = async (profile: 'istio' | 'kuma') => {
  const run = await ecsMesh('keys', 'export', '--format', 'pem', '--token-profile', profile);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return parsePemExport(run.stdout, 'default');
};
/** istiod's JWT_RULE in the discovery form: the issuer and audiences, keys found through our OIDC discovery. */
const discoveryRule = (audiences: string[]) => JSON.stringify({ issuer, audiences });
const dataplane = (service: string, labels: Record<string, string> = {}): KumaDataplane => ({ name: `${service}-0f1e2d3c`, mesh: 'default', labels: { 'kuma.io/service': service, ...labels } });
const tokenOf = async (group: string) => String((await stack.tokenSecret(group)).token);

describe('each claim profile has its own keys, so no token passes the other profile\'s verifiers', () => {
  it('a kuma token passes Kuma\'s rules with the keys `ecs-mesh keys export` gives; an istio token is refused by them', async () => {
    const payments = await tokenOf('payments');
    const ratings = await tokenOf('ratings');
    const kumaKeys = await exportedKeys('kuma');

    const kuma = await kumaVerdict({ token: payments, publicKeys: kumaKeys, dataplane: dataplane('payments', { 'kuma.io/workload': 'payments' }), identityFromWorkloadLabel: true });
    const istioAsKuma = await kumaVerdict({ token: ratings, publicKeys: kumaKeys, dataplane: dataplane('payments') });

    expect(kuma).toMatchObject({ ok: true, claims: { Mesh: 'default', Tags: { 'kuma.io/service': ['payments'] }, Workload: 'payments', Type: 'dataplane' } });
    expect(kumaKeys.map((k) => k.kid)).toEqual([decodeProtectedHeader(payments).kid]);
    expect(istioAsKuma).toEqual({ ok: false, error: expect.stringContaining(`there is no signing key with KID ${String(decodeProtectedHeader(ratings).kid)}`) });
  });

  it('would be a wildcard data-plane token if Kuma trusted the istio keys (the faithful rules, seen failing open)', async () => {
    const ratings = await tokenOf('ratings');

    const verdict = await kumaVerdict({ token: ratings, publicKeys: await exportedKeys('istio'), dataplane: dataplane('payments') });

    // No Name, Mesh, Tags or Workload claim: Kuma would let it register as any data plane of any mesh.
    expect(verdict).toMatchObject({ ok: true });
  });

  it('an istio token passes istiod\'s rules through our OIDC discovery; a kuma token is refused by them', async () => {
    const ratings = await tokenOf('ratings');
    const payments = await tokenOf('payments');

    const istio = istiodVerdict(discoveryRule(['istio-ca', 'other']), ratings);
    const kumaAsIstio = istiodVerdict(discoveryRule(['istio-ca']), payments);

    expect(istio).toEqual({ ok: true, identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings' });
    expect(decodeJwt(ratings)).toMatchObject({ iss: issuer, sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', aud: ['istio-ca'] });
    expect(kumaAsIstio).toEqual({ ok: false, stage: 'verify', error: expect.stringContaining('Unable to find a signing key that matches') });
  });
});

describe('the Workload claim Kuma ≥ 2.14 needs for workload-derived identities', () => {
  it('binds a kuma token to the group\'s kuma.io/workload label, and only where the group sets one', async () => {
    const payments = await tokenOf('payments');
    const orders = await tokenOf('orders');
    const kumaKeys = await exportedKeys('kuma');
    const verify = (token: string, dp: KumaDataplane) => kumaVerdict({ token, publicKeys: kumaKeys, dataplane: dp, identityFromWorkloadLabel: true });

    expect(await verify(payments, dataplane('payments', { 'kuma.io/workload': 'payments' }))).toMatchObject({ ok: true });
    expect(await verify(payments, dataplane('payments', { 'kuma.io/workload': 'ledger' }))).toEqual({ ok: false, error: expect.stringContaining('dataplane workload "ledger" is not allowed with this token') });
    // A group without the label: no Workload claim, so a data plane without the label still joins...
    expect(decodeJwt(orders)).not.toHaveProperty('Workload');
    expect(await verify(orders, dataplane('orders'))).toMatchObject({ ok: true });
    // ...and one with it, under a workload-derived MeshIdentity, is refused as Kuma does.
    expect(await verify(orders, dataplane('orders', { 'kuma.io/workload': 'orders' }))).toEqual({ ok: false, error: expect.stringContaining('requires a workload-bound token') });
  });
});

describe('a rotation: the pending key is published first, and tokens verify throughout', () => {
  it('publishes the pending key at once, signs with the old one until KEY_PREPUBLISH_SECONDS have passed, then with the new one', async () => {
    await tokenOf('ratings');
    // A signer built as the Lambdas build theirs, against the local stack's own secrets.
    const config = loadConfig('keys', { AWS_ENDPOINT_URL: aws.endpoint, ISSUER_URL: issuer, ...LOCAL_ENV, KEY_CACHE_SECONDS: '0' });
    // Its clock is the one it signs at: a test moves it past the activation instead of waiting for it.
    let signerNow = new Date();
    const signer = createKeyStore(config, new SecretsManagerClient(aws), 'istio', () => signerNow.getTime());
    const sign = async (sub: string, at = new Date()) => {
      signerNow = at;
      // Issued now on the verifiers' (real) clock; `at` only picks the signing key.
      const iat = Math.floor(Date.now() / 1000);
      return (await signer.sign({ iss: issuer, sub: `system:serviceaccount:bookinfo:${sub}`, aud: ['istio-ca'], iat, nbf: iat, exp: iat + 600, jti: sub }, at)).token;
    };
    const istiod = (token: string) => istiodVerdict(discoveryRule(['istio-ca']), token);
    const before = await sign('before');
    expect(await istiod(before)).toMatchObject({ ok: true });

    const rotated = await ecsMesh('keys', 'rotate', '--token-profile', 'istio', '-o', 'json');

    expect(rotated.code).toBe(0);
    const [change] = JSON.parse(rotated.stdout) as { activeKid: string; pendingKid: string; activatesAt: string }[];
    expect(change).toMatchObject({ profile: 'istio', outcome: 'rotated', activeKid: decodeProtectedHeader(before).kid, pendingKid: expect.any(String) });
    const jwksKids = async () => ((await (await fetch(`${issuer}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    await until('the pending key in the JWKS', async () => ((await jwksKids()).includes(change!.pendingKid) ? true : undefined), 5, output);
    const listed = JSON.parse((await ecsMesh('keys', 'list', '--token-profile', 'istio', '-o', 'json')).stdout) as { kid: string; state: string }[];
    expect(listed.map((k) => [k.kid, k.state])).toEqual([[change!.pendingKid, 'pending'], [change!.activeKid, 'active']]);
    const during = await sign('during');
    expect(decodeProtectedHeader(during).kid).toBe(change!.activeKid);
    expect(await istiod(during)).toMatchObject({ ok: true });

    // Past the activation, on the signer's clock.
    const activated = new Date(Date.parse(change!.activatesAt) + 2000);
    const after = await sign('after', activated);

    expect(decodeProtectedHeader(after).kid).toBe(change!.pendingKid);
    for (const token of [before, during, after]) expect(await istiod(token)).toMatchObject({ ok: true });
    // The published set at that time, as `keys list` reads it (the listing itself ran above, on the real clock).
    const states = await createJwks(config, new SecretsManagerClient(aws)).statuses(activated);
    expect(states.map((k) => [k.kid, k.state])).toEqual([[change!.pendingKid, 'active'], [change!.activeKid, 'retiring']]);
    // Retired only once every token it signed has expired: activation + the longest lifetime + the key cache.
    expect(Date.parse(states[1]!.retiresAt!)).toBe(Date.parse(change!.activatesAt) + (86_400 + 1) * 1000);
  }, 30_000);
});

describe('tokens verified by an independent verifier that knows only the issuer URL', () => {
  it('verifies an istio token and a kuma token through the discovered JWKS, and logs no token or key', async () => {
    const ratings = await stack.tokenSecret('ratings');
    const payments = await stack.tokenSecret('payments');

    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const istio = await jwtVerify(String(ratings.token), jwks, { issuer, audience: 'istio-ca' });
    // Kuma reads its keys from the CP config, not from the istio JWKS (see the tests above).
    await expect(jwtVerify(String(payments.token), jwks, { algorithms: ['RS256'] })).rejects.toThrow(/no applicable key found/);
    const kuma = { protectedHeader: decodeProtectedHeader(String(payments.token)), payload: decodeJwt(String(payments.token)) };

    expect(discovery.issuer).toBe(issuer);
    expect(istio.payload).toMatchObject({ sub: 'system:serviceaccount:bookinfo:bookinfo-ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings', 'ecsmesh.io/mesh': 'default' });
    expect(istio.payload.exp! * 1000).toBeGreaterThan(Date.now());
    expect(istio.protectedHeader.kid).toBe(ratings.kid);
    expect(kuma.protectedHeader).toMatchObject({ alg: 'RS256', kid: payments.kid });
    expect(kuma.payload).toMatchObject({ Name: '', Mesh: 'default', Type: 'dataplane', Tags: { 'kuma.io/service': ['payments'] } });
    expect(payments.profile).toBe('kuma');

    const keys = [...((await secretJson('ecs-mesh/signing-keys')).keys as unknown[]), ...((await secretJson('ecs-mesh/signing-keys-kuma')).keys as unknown[])];
    const privateParts = (keys as { privateJwk: Record<string, string> }[]).flatMap((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].map((f) => k.privateJwk[f]).filter(Boolean) as string[]);
    expect(await stop()).toBe(0);
    // The capture holds the run's decision logs, so the checks below look at real output.
    expect(output()).toContain('"message":"enrollment recorded"');
    expect(output()).toContain('service token');
    for (const secret of [String(ratings.token), String(payments.token), ...privateParts]) expect(output().includes(secret)).toBe(false);
    // No JWT of any kind (three base64url parts starting with a JSON header) in any log line.
    expect(output()).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  }, 90_000);
});
