import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AggregatedJwks } from '../../shared/adapters/aggregated-jwks.js';
import { HttpTransportError, type HttpAnswer } from '../../shared/adapters/http-request.js';
import { aggregateJwks, MAX_PEER_JWKS_BYTES, parsePeerJwks, parsePeerJwksUrls, thumbprint } from '../../shared/core/peer-jwks.js';
import type { PublicJwk } from '../../shared/core/tokens.js';
import { MemoryLog } from '../support/memory-log.js';

/** A public key as our key stores publish it (kid = RFC 7638 thumbprint), with its private JWK. */
async function aKey(alg: 'RS256' | 'ES256' = 'RS256') {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { pub: { ...jwk, kid, alg, use: 'sig' } as PublicJwk, priv: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } };
}

let rsa: Awaited<ReturnType<typeof aKey>>;
let rsa2: Awaited<ReturnType<typeof aKey>>;
let ec: Awaited<ReturnType<typeof aKey>>;
beforeAll(async () => {
  [rsa, rsa2, ec] = await Promise.all([aKey(), aKey(), aKey('ES256')]);
});

const jwks = (...keys: unknown[]) => JSON.stringify({ keys });

describe('a peer JWKS, read as untrusted input', () => {
  it('takes public RS256 and ES256 keys whose kid is their thumbprint, as our stores publish them', () => {
    expect(thumbprint(rsa.pub)).toBe(rsa.pub.kid);
    expect(parsePeerJwks(jwks(rsa.pub, ec.pub))).toEqual({ ok: true, keys: [rsa.pub, ec.pub], refusedKeys: [] });
  });

  it('refuses the whole document when a key carries private members, naming the key', () => {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      const leaking = { ...rsa.pub, [member]: 'AQAB' };
      expect(parsePeerJwks(jwks(rsa2.pub, leaking))).toEqual({ ok: false, reason: 'PEER_JWKS_PRIVATE_KEY', message: expect.stringContaining(rsa.pub.kid) });
    }
    expect(parsePeerJwks(jwks(ec.priv))).toMatchObject({ ok: false, reason: 'PEER_JWKS_PRIVATE_KEY' });
  });

  it('refuses one key of another type, algorithm or curve, or whose kid is not its own, and keeps the rest', () => {
    const refused = [
      { kty: 'oct', kid: 'hmac', alg: 'HS256' },
      { ...rsa2.pub, alg: 'RS512' },
      { ...ec.pub, crv: 'P-384' },
      { ...rsa2.pub, kid: rsa.pub.kid },
      { ...rsa2.pub, x5u: 'https://evil.example/cert' },
    ];
    const parsed = parsePeerJwks(jwks(rsa.pub, ...refused));

    expect(parsed).toMatchObject({ ok: true, keys: [rsa.pub] });
    expect(parsed.ok && parsed.refusedKeys.map((r) => [r.kid, r.reason])).toEqual([
      ['hmac', 'PEER_KEY_REFUSED'],
      [rsa2.pub.kid, 'PEER_KEY_REFUSED'],
      [ec.pub.kid, 'PEER_KEY_REFUSED'],
      [rsa.pub.kid, 'PEER_KEY_REFUSED'],
      [rsa2.pub.kid, 'PEER_KEY_REFUSED'],
    ]);
    expect(parsed.ok && parsed.refusedKeys[3]!.message).toMatch(/thumbprint/);
  });

  it.each([
    { case: 'not JSON', text: '<html>', reason: 'PEER_JWKS_INVALID' },
    { case: 'no keys array', text: '{"keys": {}}', reason: 'PEER_JWKS_INVALID' },
    { case: 'null', text: 'null', reason: 'PEER_JWKS_INVALID' },
    { case: 'over the byte bound', text: jwks('x'.repeat(MAX_PEER_JWKS_BYTES)), reason: 'PEER_JWKS_TOO_LARGE' },
    { case: 'too many keys', text: jwks(...Array.from({ length: 65 }, () => ({}))), reason: 'PEER_JWKS_TOO_LARGE' },
  ])('refuses a document that is $case', ({ text, reason }) => {
    expect(parsePeerJwks(text)).toMatchObject({ ok: false, reason });
  });
});

describe('the aggregate', () => {
  const HOUR = 3_600_000;

  it('serves its own keys and every live peer\'s, and drops a peer not heard from for longer than the keep bound', () => {
    const peers = [
      { peer: 'b', keys: [rsa2.pub], fetchedAt: 0 },
      { peer: 'c', keys: [ec.pub], fetchedAt: 2 * HOUR },
    ];
    expect(aggregateJwks([rsa.pub], peers, 2 * HOUR, 2 * HOUR)).toEqual({ keys: [rsa.pub, rsa2.pub, ec.pub], refusals: [] });
    expect(aggregateJwks([rsa.pub], peers, 2 * HOUR + 1, 2 * HOUR)).toEqual({
      keys: [rsa.pub, ec.pub],
      refusals: [{ peer: 'b', reason: 'PEER_KEYS_EXPIRED', kids: [rsa2.pub.kid], message: expect.any(String) }],
    });
  });

  it('never serves a peer key whose kid is also its own or another peer\'s', () => {
    const peers = [
      { peer: 'b', keys: [rsa.pub, rsa2.pub], fetchedAt: 0 },
      { peer: 'c', keys: [rsa2.pub, ec.pub], fetchedAt: 0 },
    ];
    const { keys, refusals } = aggregateJwks([rsa.pub], peers, 0, HOUR);

    expect(keys).toEqual([rsa.pub, ec.pub]);
    expect(refusals).toEqual([
      { peer: 'b', reason: 'PEER_KID_COLLISION', kids: [rsa.pub.kid, rsa2.pub.kid], message: expect.any(String) },
      { peer: 'c', reason: 'PEER_KID_COLLISION', kids: [rsa2.pub.kid], message: expect.any(String) },
    ]);
  });
});

describe('PEER_JWKS_URLS', () => {
  it('takes https URLs, and http to loopback only', () => {
    expect(parsePeerJwksUrls(' https://b.example/.well-known/jwks.json,http://127.0.0.1:3001/.well-known/jwks.json ,')).toEqual({
      urls: ['https://b.example/.well-known/jwks.json', 'http://127.0.0.1:3001/.well-known/jwks.json'],
      problems: [],
    });
    expect(parsePeerJwksUrls('http://b.example/jwks.json,nope,https://u:p@c.example/,https://d.example/,https://d.example/').problems).toEqual([
      expect.stringMatching(/http:\/\/b\.example\/jwks\.json must be https/),
      'nope is not a URL',
      expect.stringMatching(/must not hold credentials/),
      'a peer is listed twice',
    ]);
  });
});

describe('AggregatedJwks (discovery of the issuer deployment)', () => {
  const own = { publicKeys: () => Promise.resolve([rsa.pub]) };
  const B = 'https://b.example/.well-known/jwks.json';
  const C = 'https://c.example/.well-known/jwks.json';

  function world(answers: Record<string, () => Promise<HttpAnswer>>) {
    let now = 0;
    const reads: string[] = [];
    const log = new MemoryLog();
    const aggregate = new AggregatedJwks(own, {
      peerJwksUrls: [B, C],
      refreshSeconds: 60,
      keepSeconds: 3600,
      timeoutMs: 1000,
      clock: () => now,
      request: (url) => (reads.push(url), answers[url]!()),
    }, log);
    const entries = () => log.lines.map((l): Record<string, unknown> => ({ level: l.level, message: l.message, ...l.extra }));
    return { aggregate, reads, entries, advance: (seconds: number) => (now += seconds * 1000), kids: async () => (await aggregate.publicKeys(new Date(now))).map((k) => k.kid) };
  }
  const ok = (...keys: unknown[]) => () => Promise.resolve({ status: 200, text: jwks(...keys), headers: {} });

  it('reads each peer once per refresh interval, however many requests come', async () => {
    const w = world({ [B]: ok(rsa2.pub), [C]: ok(ec.pub) });

    await Promise.all([w.kids(), w.kids(), w.kids()]);
    expect(await w.kids()).toEqual([rsa.pub.kid, rsa2.pub.kid, ec.pub.kid]);
    expect(w.reads).toEqual([B, C]);
    w.advance(61);
    await w.kids();
    expect(w.reads).toEqual([B, C, B, C]);
  });

  it('keeps a peer\'s last keys while it is down, for the keep bound only, and logs why', async () => {
    let bUp = true;
    const w = world({ [B]: () => (bUp ? ok(rsa2.pub)() : Promise.reject(new HttpTransportError('TIMEOUT', 'no answer within 1000 ms'))), [C]: ok(ec.pub) });
    await w.kids();
    bUp = false;

    w.advance(3599);
    expect(await w.kids()).toEqual([rsa.pub.kid, rsa2.pub.kid, ec.pub.kid]);
    expect(w.entries()).toContainEqual(expect.objectContaining({ level: 'warn', message: 'peer JWKS refused', peer: B, reason: 'PEER_JWKS_UNREACHABLE' }));
    w.advance(2);
    expect(await w.kids()).toEqual([rsa.pub.kid, ec.pub.kid]);
    expect(w.entries()).toContainEqual(expect.objectContaining({ level: 'warn', message: 'peer keys not served', peer: B, reason: 'PEER_KEYS_EXPIRED', kids: [rsa2.pub.kid] }));
  });

  it('drops at once the keys of a peer that publishes private key material, and keeps the rest', async () => {
    let leak = false;
    const w = world({ [B]: () => ok(leak ? rsa2.priv : rsa2.pub)(), [C]: ok(ec.pub) });
    await w.kids();
    leak = true;
    w.advance(61);

    expect(await w.kids()).toEqual([rsa.pub.kid, ec.pub.kid]);
    expect(w.entries()).toContainEqual(expect.objectContaining({ level: 'warn', peer: B, reason: 'PEER_JWKS_PRIVATE_KEY' }));
  });

  it('keeps the last good keys of a peer that answers an oversized or broken document', async () => {
    let answer = ok(rsa2.pub);
    const w = world({ [B]: () => answer(), [C]: ok(ec.pub) });
    await w.kids();
    answer = () => Promise.reject(new HttpTransportError('ANSWER_TOO_LARGE', `answer exceeds ${MAX_PEER_JWKS_BYTES} bytes`));
    w.advance(61);
    expect(await w.kids()).toContain(rsa2.pub.kid);
    answer = () => Promise.resolve({ status: 200, text: 'not json', headers: {} });
    w.advance(61);
    expect(await w.kids()).toContain(rsa2.pub.kid);

    expect(w.entries().filter((e) => e.peer === B).map((e) => e.reason)).toEqual(['PEER_JWKS_TOO_LARGE', 'PEER_JWKS_INVALID']);
  });
});
