/**
 * The Kuma CP configuration docs/connect-a-mesh.md documents, parsed as YAML and held against the field names
 * of Kuma's own config structs (kumahq/kuma pkg/config/dp-server: DpProxyAuthnConfig `type`,
 * `dpToken`; DpServerAuthnConfig `enableReloadableTokens`; DpTokenAuthnConfig `enableIssuer`, `validator`; DpTokenValidatorConfig `useSecrets`,
 * `publicKeys`; config_types.MeshedPublicKey `kid`, `key`, `keyFile`, `mesh`). Go's decoder would
 * silently ignore a misspelt field, so a typo here would leave Kuma trusting nothing we sign.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const GUIDE = readFileSync(new URL('../../docs/connect-a-mesh.md', import.meta.url), 'utf8');
const section = GUIDE.slice(GUIDE.indexOf('## Kuma / Kong Mesh'));
const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

describe("the guide's Kuma CP configuration", () => {
  it('uses only the fields Kuma reads, at the places Kuma reads them', () => {
    const config = parse(yamlBlock) as { dpServer: { authn: { dpProxy: Record<string, unknown>; enableReloadableTokens?: unknown } } };
    // DpServerAuthnConfig: `dpProxy`, `zoneProxy`, `enableReloadableTokens` (without it kuma-dp's
    // Envoy sends the token it read at start on every reconnect: kuma-dp-reconnect.test.ts).
    for (const field of Object.keys(config.dpServer.authn)) expect(['dpProxy', 'zoneProxy', 'enableReloadableTokens']).toContain(field);
    expect(config.dpServer.authn.enableReloadableTokens).toBe(true);
    const dpProxy = config.dpServer.authn.dpProxy;
    expect(Object.keys(dpProxy).sort()).toEqual(['dpToken', 'type']);
    expect(dpProxy.type).toBe('dpToken');
    const dpToken = dpProxy.dpToken as Record<string, unknown>;
    expect(Object.keys(dpToken).sort()).toEqual(['enableIssuer', 'validator']);
    const validator = dpToken.validator as { useSecrets: unknown; publicKeys: Record<string, unknown>[] };
    expect(Object.keys(validator).sort()).toEqual(['publicKeys', 'useSecrets']);
    expect(validator.useSecrets).toBe(false);
    for (const key of validator.publicKeys) {
      for (const field of Object.keys(key)) expect(['kid', 'key', 'keyFile', 'mesh']).toContain(field);
      expect(typeof key.kid).toBe('string');
      expect(String(key.key)).toContain('-----BEGIN PUBLIC KEY-----');
    }
  });
});
