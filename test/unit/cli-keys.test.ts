import { createPublicKey } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { startFakeApi, type FakeApi } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';

let api: FakeApi;
let kumaJwk: JWK;
let istioJwk: JWK;
const items = () => [
  { profile: 'istio', kid: 'istio-new', alg: 'RS256', state: 'pending', activatesAt: '2026-03-01T13:00:00.000Z', jwk: { ...istioJwk, kid: 'istio-new', alg: 'RS256', use: 'sig' } },
  { profile: 'kuma', kid: 'kuma-1', alg: 'RS256', state: 'active', activatesAt: '2026-02-01T00:00:00.000Z', jwk: { ...kumaJwk, kid: 'kuma-1', alg: 'RS256', use: 'sig' } },
];

beforeAll(async () => {
  kumaJwk = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
  istioJwk = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
});
beforeEach(async () => {
  api = await startFakeApi('eu-west-1');
  api.intercept = (request) => {
    if (request.method === 'GET' && request.path === '/v1/keys') {
      const listed = items().filter((k) => request.query.profile === undefined || k.profile === request.query.profile);
      return { status: 200, body: { items: listed, count: listed.length } };
    }
    if (request.method === 'POST' && request.path === '/v1/keys/rotate') {
      const body = JSON.parse(request.body) as { profile?: string; emergency?: boolean };
      const change = body.emergency ? { activeKid: 'fresh' } : { activeKid: 'kuma-1', pendingKid: 'kuma-2', activatesAt: '2026-03-02T12:00:00.000Z' };
      return { status: 200, body: { changes: [{ profile: body.profile ?? 'istio', outcome: 'rotated', ...change, retiredKids: body.emergency ? ['kuma-1'] : [], prunedKids: [] }] } };
    }
    if (request.method === 'POST' && request.path === '/v1/keys/revoke') {
      const body = JSON.parse(request.body) as { kid: string; profile?: string };
      if (body.kid === 'kuma-1') return { status: 409, body: { reason: 'KEY_SIGNING', message: 'key kuma-1 signs now: run `keys rotate --emergency` first (its successor signs at once), then revoke kuma-1' } };
      const change = { profile: body.profile ?? 'istio', outcome: 'revoked', activeKid: 'fresh', retiredKids: [], prunedKids: [], revoked: [{ kid: body.kid, signed: true, tokensWouldVerifyUntil: '2026-03-03T12:00:00.000Z' }] };
      return { status: 200, body: { change, stopsVerifying: `tokens signed with ${body.kid} stop verifying once verifiers refetch the JWKS; they would have verified until 2026-03-03T12:00:00.000Z` } };
    }
    return undefined;
  };
});
afterEach(() => api.close());

const cli = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' } });

describe('keys list', () => {
  it('prints each key with its state and times', async () => {
    const run = await cli('keys', 'list');

    expect(run).toEqual({
      code: 0,
      stdout: [
        'PROFILE  KID        ALG    STATE    SIGNS FROM                RETIRES',
        'istio    istio-new  RS256  pending  2026-03-01T13:00:00.000Z  -',
        'kuma     kuma-1     RS256  active   2026-02-01T00:00:00.000Z  -',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('asks for one profile with --token-profile (--profile stays the AWS profile)', async () => {
    await cli('keys', 'list', '--token-profile', 'kuma', '-o', 'json');

    expect(api.requests.map((r) => [r.method, r.path, r.query])).toEqual([['GET', '/v1/keys', { profile: 'kuma' }]]);
  });
});

describe('keys export', () => {
  it('prints each key as an SPKI PEM block after a line naming it, as Kuma\'s CP config takes them', async () => {
    const run = await cli('keys', 'export', '--format', 'pem', '--token-profile', 'kuma');

    expect(run.code).toBe(0);
    const [comment, ...pem] = run.stdout.trimEnd().split('\n');
    expect(comment).toBe('# profile=kuma kid=kuma-1 alg=RS256 state=active signs-from=2026-02-01T00:00:00.000Z');
    expect(pem[0]).toBe('-----BEGIN PUBLIC KEY-----');
    expect(createPublicKey(pem.join('\n')).export({ format: 'jwk' })).toEqual({ kty: 'RSA', n: kumaJwk.n, e: kumaJwk.e });
  });

  it('prints one profile\'s JWKS', async () => {
    const run = await cli('keys', 'export', '--format', 'jwks', '--token-profile', 'istio', '--kid', 'istio-new');

    expect(JSON.parse(run.stdout)).toEqual({ keys: [{ ...istioJwk, kid: 'istio-new', alg: 'RS256', use: 'sig' }] });
  });

  it.each([
    { $case: 'a JWKS mixing both profiles', argv: ['--format', 'jwks'], message: '--format jwks needs --token-profile' },
    { $case: 'an unknown format', argv: ['--format', 'der'], message: '--format must be one of pem, jwks' },
    { $case: 'no format', argv: [], message: 'missing --format pem|jwks' },
    { $case: 'an unknown profile', argv: ['--format', 'pem', '--token-profile', 'consul'], message: '--token-profile must be one of istio, kuma' },
  ])('refuses $case as a usage error', async ({ argv, message }) => {
    const run = await cli('keys', 'export', ...argv);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(api.requests).toEqual([]);
  });

  it('fails when the asked kid is not published', async () => {
    const run = await cli('keys', 'export', '--format', 'pem', '--kid', 'gone');

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'no published key gone\n' });
  });
});

describe('keys rotate', () => {
  it('asks for a two-phase rotation and prints the pending key', async () => {
    const run = await cli('keys', 'rotate', '--token-profile', 'kuma');

    expect(JSON.parse(api.requests[0]!.body)).toEqual({ profile: 'kuma' });
    expect(run.stdout).toContain('kuma     rotated  kuma-1  kuma-2   2026-03-02T12:00:00.000Z');
    expect(run.stderr).toBe('');
  });

  it('sends an emergency rotation only when asked, and warns what it breaks', async () => {
    const run = await cli('keys', 'rotate', '--emergency');

    expect(JSON.parse(api.requests[0]!.body)).toEqual({ emergency: true });
    expect(run.stderr).toContain('verifiers that have not fetched it refuse the new tokens');
  });
});

describe('keys revoke', () => {
  it('withdraws the named key and says what stops verifying, until when', async () => {
    const run = await cli('keys', 'revoke', 'kuma-0', '--token-profile', 'kuma');

    expect(api.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([['POST', '/v1/keys/revoke', { kid: 'kuma-0', profile: 'kuma' }]]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('kuma     revoked  fresh');
    expect(run.stderr).toBe('tokens signed with kuma-0 stop verifying once verifiers refetch the JWKS; they would have verified until 2026-03-03T12:00:00.000Z\n');
  });

  it('passes on the refusal to revoke the signing key, with what to do first', async () => {
    const run = await cli('keys', 'revoke', 'kuma-1');

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KEY_SIGNING');
    expect(run.stderr).toContain('keys rotate --emergency');
  });

  // A kid is base64url: one in 64 starts with '-', which the parser would read as short flags.
  it("takes a KID that starts with '-' after --, and says so when it is given before", async () => {
    const kid = '-b7FJEnak9C6jlu6H3_QQljO4RItFdI-U6RKO_vn_L0';
    const before = await cli('keys', 'revoke', kid, '--token-profile', 'kuma');
    const after = await cli('keys', 'revoke', '--token-profile', 'kuma', '--', kid);

    expect(before.code).toBe(2);
    expect(before.stderr).toContain(`keys revoke: unknown flag -b in ${kid}: a value that starts with '-' goes last, after --, as in '-- ${kid}'`);
    expect(after.code).toBe(0);
    expect(api.requests.map((r) => JSON.parse(r.body))).toEqual([{ kid, profile: 'kuma' }]);
  });

  it('takes exactly one KID', async () => {
    const run = await cli('keys', 'revoke');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('keys revoke takes exactly one KID');
    expect(api.requests).toEqual([]);
  });
});
