import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMintingStack, type MintingStack } from '../support/minting-stack.js';
import { istiodJwtRuleUnmarshal, istiodVerdict as istiod } from '../support/third-party-verifier.js';
import { documentedJwtRules as everyDocumentedJwtRule } from '../support/documented-jwt-rules.js';

// istiod's JWT_RULE as docs/connect-a-mesh.md documents it, parsed and applied as istiod does (PyJWT, not our
// verifier), against tokens minted by `npm run local`. The whole path as an operator runs it: `npm run local` as a process, tasks launched with
// RunTask, tokens minted by task-events, and a verifier that knows nothing but the issuer URL.
const GROUPS = [
  { name: 'ratings', serviceAccount: 'bookinfo-ratings' },
  { name: 'payments', serviceAccount: 'payments', tokenProfile: 'kuma' },
] as const;

const GUIDE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'connect-a-mesh.md'), 'utf8');

/** The JWT_RULE strings docs/connect-a-mesh.md's "Istio (istiod)" section documents, in order, and its Helm values. */
function documentedJwtRules(): { jwksUri: string; discovery: string; helmValues: string } {
  const section = GUIDE.slice(GUIDE.indexOf('## Istio (istiod)'), GUIDE.indexOf('\n## ', GUIDE.indexOf('## Istio (istiod)') + 3));
  const [jwksUri, discovery] = [...section.matchAll(/^\s*JWT_RULE='([^']+)'$/gm)].map((m) => m[1]!);
  const values = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const helmValues = (parseYaml(values ?? '') as { pilot?: { env?: { JWT_RULE?: string } } } | null)?.pilot?.env?.JWT_RULE;
  if (!jwksUri || !discovery || !helmValues) throw new Error('docs/connect-a-mesh.md: the Istio (istiod) section lost its JWT_RULE examples');
  return { jwksUri, discovery, helmValues };
}

describe('every JWT_RULE README.md and docs/ give', () => {
  it('is one JSON object istiod unmarshals at start (initOIDC), with an issuer and audiences', () => {
    const { rules, unrecognised } = everyDocumentedJwtRule(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
    expect(unrecognised).toEqual([]);
    for (const { where, value } of rules) {
      const parsed = istiodJwtRuleUnmarshal(value);
      expect({ where, ok: parsed.ok, error: parsed.error }).toEqual({ where, ok: true, error: undefined });
      expect({ where, issuer: parsed.rule?.issuer ?? '', audiences: parsed.rule?.audiences ?? [] }).toEqual({ where, issuer: expect.stringMatching(/\S/), audiences: expect.arrayContaining([expect.any(String)]) });
    }
    // The three of "Connect your mesh", Deploy's step 6 and the per-account walkthrough's, at least.
    expect(rules.length).toBeGreaterThanOrEqual(5);
  });
});

describe('tokens verified by an independent verifier that knows only the issuer URL (RS256; ISSUER_URL given with a trailing slash)', () => {
  let stack: MintingStack;
  beforeAll(async () => {
    stack = await startMintingStack(GROUPS, ['ratings', 'payments'], (port) => ({ ISSUER_URL: `http://127.0.0.1:${port}/` }));
  }, 120_000);
  afterAll(() => stack?.close());

  it('verifies the guide\'s JWT_RULE forms as istiod parses and applies them, and refuses what istiod refuses', async () => {
    const { issuer } = stack;
    const ratings = await stack.tokenSecret('ratings');
    const payments = await stack.tokenSecret('payments');
    const documented = documentedJwtRules();
    const withIssuer = (rule: string, value = issuer) => rule.replaceAll('<ISSUER_URL>', value);

    for (const rule of [documented.jwksUri, documented.discovery, documented.helmValues])
      expect(istiod(withIssuer(rule), String(ratings.token))).toEqual({ ok: true, identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings' });
    // The form the README once gave: istiod does not start.
    expect(istiod(`[${withIssuer(documented.jwksUri)}]`, String(ratings.token))).toMatchObject({ ok: false, stage: 'unmarshal', error: expect.stringContaining('cannot unmarshal array') });
    // istiod compares the issuer exactly: the one discovery answers, without the trailing slash.
    expect(istiod(withIssuer(documented.discovery, `${issuer}/`), String(ratings.token))).toMatchObject({ ok: false, stage: 'discovery' });
    // A kuma-profile token is no istio identity.
    expect(istiod(withIssuer(documented.jwksUri), String(payments.token))).toMatchObject({ ok: false });
  }, 60_000);
});

describe('ES256 tokens and istiod', () => {
  let stack: MintingStack;
  beforeAll(async () => {
    stack = await startMintingStack(GROUPS, ['ratings'], { SIGNING_ALG: 'ES256' });
  }, 120_000);
  afterAll(() => stack?.close());

  it('are accepted in the discovery form and refused in the jwks_uri form, as the guide says', async () => {
    const ratings = await stack.tokenSecret('ratings');
    const documented = documentedJwtRules();
    const withIssuer = (rule: string) => rule.replaceAll('<ISSUER_URL>', stack.issuer);

    expect(istiod(withIssuer(documented.discovery), String(ratings.token))).toEqual({ ok: true, identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings' });
    expect(istiod(withIssuer(documented.jwksUri), String(ratings.token))).toMatchObject({ ok: false, stage: 'verify', error: expect.stringContaining('unsupported algorithm') });
  }, 60_000);
});
