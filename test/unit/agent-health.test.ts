import { describe, expect, it } from 'vitest';
import { checkTokenFile } from '../../cli/agent/health.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: object) => `${b64({ alg: 'RS256', kid: 'k1' })}.${b64(claims)}.c2lnbmF0dXJl`;
const file = (text: string | undefined) => (path: string) => {
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

describe('checkTokenFile', () => {
  it('is healthy while the token has not expired', () => {
    const exp = NOW / 1000 + 60;

    expect(checkTokenFile('/t', NOW, file(`${jwt({ exp })}\n`))).toEqual({ healthy: true, expiresAt: new Date(exp * 1000) });
  });

  it.each([
    { case: 'an expired token', text: jwt({ exp: NOW / 1000 - 1 }), reason: 'the token at /t expired at 2026-12-01T11:59:59.000Z' },
    { case: 'a token expiring right now', text: jwt({ exp: NOW / 1000 }), reason: 'expired at 2026-12-01T12:00:00.000Z' },
    { case: 'no token file yet', text: undefined, reason: 'no token at /t: ENOENT' },
    { case: 'a file that holds no JWT', text: 'not-a-jwt', reason: '/t holds no JWT' },
    { case: 'a token without exp', text: jwt({ sub: 'x' }), reason: 'the token at /t has no exp' },
  ])('is unhealthy with $case, and says why', ({ text, reason }) => {
    const health = checkTokenFile('/t', NOW, file(text));

    expect(health.healthy).toBe(false);
    expect(health.healthy ? '' : health.reason).toContain(reason);
  });
});
