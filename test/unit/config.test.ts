import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({ MESH_API: 'file', SIGNING_ALG: 'RS256', TOKEN_PROFILE: 'istio', DATA_PLANE_TOKEN_LIFETIME_SECONDS: 86_400, TOKEN_SECRET_PREFIX: 'ecs-mesh' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    { case: 'kubernetes without a URL', env: { MESH_API: 'kubernetes', MESH_K8S_TOKEN_SECRET_ID: 's' }, names: 'MESH_K8S_URL' },
    { case: 'EKS auth without a cluster name', env: { MESH_API: 'kubernetes', MESH_K8S_URL: 'https://k8s', MESH_K8S_AUTH: 'eks' }, names: 'MESH_K8S_EKS_CLUSTER_NAME' },
    { case: 'the kuma profile with ES256', env: { TOKEN_PROFILE: 'kuma', SIGNING_ALG: 'ES256' }, names: 'SIGNING_ALG' },
    { case: 'a token lifetime under a minute', env: { DATA_PLANE_TOKEN_LIFETIME_SECONDS: '30' }, names: 'DATA_PLANE_TOKEN_LIFETIME_SECONDS' },
    { case: 'an unknown log level', env: { LOG_LEVEL: 'CHATTY' }, names: 'LOG_LEVEL' },
  ])('refuses $case and names the variable', ({ env, names }) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(names);
  });

  it('publishes a rotated-in key for an hour before it signs unless told otherwise, and never a negative time', () => {
    expect(loadConfig({}).KEY_PREPUBLISH_SECONDS).toBe(3600);
    expect(loadConfig({ KEY_PREPUBLISH_SECONDS: '172800' }).KEY_PREPUBLISH_SECONDS).toBe(172_800);
    expect(() => loadConfig({ KEY_PREPUBLISH_SECONDS: '-1' })).toThrow('KEY_PREPUBLISH_SECONDS');
  });
});
