import { describe, expect, it } from 'vitest';
import { jwtRulesIn } from '../support/documented-jwt-rules.js';

// The reader the JWT_RULE test (test/integration/istiod-jwt-rule.test.ts) relies on: every form an
// operator copies is read, and a form it cannot read fails that test instead of being skipped.
describe('jwtRulesIn', () => {
  const RULE = '{"issuer":"https://a.example","audiences":["istio-ca"]}';

  it('reads shell, Helm --set, YAML, env-list and JSON forms', () => {
    const page = [
      `JWT_RULE='${RULE}'`,
      `export JWT_RULE="${RULE.replaceAll('"', '\\"')}"`,
      `helm upgrade istiod istio/istiod --set pilot.env.JWT_RULE='${RULE}'`,
      'pilot:',
      '  env:',
      `    JWT_RULE: '${RULE}'`,
      'env:',
      '  - name: JWT_RULE',
      `    value: '${RULE}'`,
      `{"env": {"JWT_RULE": ${JSON.stringify(RULE)}}}`,
      'istiod reads `JWT_RULE` as one object.',
    ].join('\n');

    expect(jwtRulesIn('P.md', page)).toEqual({
      rules: [1, 2, 3, 6, 8, 10].map((line) => ({ where: `P.md:${line}`, value: RULE })),
      unrecognised: [],
    });
  });

  it('names a line that assigns JWT_RULE in a form it cannot read', () => {
    expect(jwtRulesIn('P.md', 'JWT_RULE: |\n  {"issuer": "x"}').unrecognised).toEqual(['P.md:1: JWT_RULE: |']);
  });
});
