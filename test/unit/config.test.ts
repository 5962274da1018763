import { describe, expect, it } from 'vitest';
import { FUNCTION_SETTINGS, loadConfig, type FunctionName } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';

const MESH_ON_KUBERNETES = { MESH_API: 'kubernetes', MESH_K8S_URL: 'https://mesh.example', MESH_K8S_TOKEN_SECRET_ID: 'mesh/token' };

/** The dlq function's queues: it has no defaults for them. */
const DLQ_QUEUES = { DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/dlq', TASK_EVENTS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/events' };

/** The names function's zone. */
const NAMES_ZONE = { MESH_DNS_ZONE_ID: 'Z0123456789ABCDEFGHIJ' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig('taskEvents', {});

    expect(config).toMatchObject({ MESH_API: 'file', SIGNING_ALG: 'RS256', TOKEN_PROFILE: 'istio', DATA_PLANE_TOKEN_LIFETIME_SECONDS: 86_400, TOKEN_SECRET_PREFIX: 'ecs-mesh' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    { case: 'kubernetes without a URL', fn: 'taskEvents', env: { MESH_API: 'kubernetes', MESH_K8S_TOKEN_SECRET_ID: 's' }, names: 'MESH_K8S_URL' },
    { case: 'EKS auth without a cluster name', fn: 'explain', env: { MESH_API: 'kubernetes', MESH_K8S_URL: 'https://k8s', MESH_K8S_AUTH: 'eks' }, names: 'MESH_K8S_EKS_CLUSTER_NAME' },
    { case: 'bearer auth without a token secret', fn: 'tokenMaintenance', env: { MESH_API: 'kubernetes', MESH_K8S_URL: 'https://k8s' }, names: 'MESH_K8S_TOKEN_SECRET_ID' },
    { case: 'the kuma profile with ES256', fn: 'auth', env: { TOKEN_PROFILE: 'kuma', SIGNING_ALG: 'ES256' }, names: 'SIGNING_ALG' },
    { case: 'a token lifetime under a minute', fn: 'keys', env: { DATA_PLANE_TOKEN_LIFETIME_SECONDS: '30' }, names: 'DATA_PLANE_TOKEN_LIFETIME_SECONDS' },
    { case: 'an onboarding token lifetime the agent would clamp (31 days)', fn: 'auth', env: { ONBOARDING_TOKEN_LIFETIME_SECONDS: '2678400' }, names: 'ONBOARDING_TOKEN_LIFETIME_SECONDS: must be at most 2592000 (30 days), the longest lifetime the sidecar agent schedules' },
    { case: 'an allowed account that is not 12 digits', fn: 'auth', env: { AUTH_ALLOWED_ACCOUNTS: '123456789012,1234' }, names: 'AUTH_ALLOWED_ACCOUNTS' },
    { case: 'an unknown log level', fn: 'enrollments', env: { LOG_LEVEL: 'CHATTY' }, names: 'LOG_LEVEL' },
  ] satisfies { case: string; fn: FunctionName; env: Record<string, string>; names: string }[])('refuses $case and names the variable', ({ fn, env, names }) => {
    expect(() => loadConfig(fn, env)).toThrow(ConfigError);
    expect(() => loadConfig(fn, env)).toThrow(names);
  });

  it.each(['enrollments', 'policies', 'discovery', 'keys'] satisfies FunctionName[])('lets %s start without any mesh setting, as it never calls the mesh', (fn) => {
    const config = loadConfig(fn, { MESH_API: 'kubernetes' });

    expect(config).not.toHaveProperty('MESH_API');
  });

  it.each(['taskEvents', 'explain', 'auth', 'tokenMaintenance'] satisfies FunctionName[])('gives %s, which calls the mesh, the mesh settings', (fn) => {
    expect(() => loadConfig(fn, { MESH_API: 'kubernetes' })).toThrow('MESH_K8S_URL');
    expect(loadConfig(fn, MESH_ON_KUBERNETES)).toMatchObject({ MESH_K8S_URL: 'https://mesh.example' });
  });

  it('reads only the exchange settings in the auth function', () => {
    const others = (Object.keys(FUNCTION_SETTINGS) as FunctionName[]).filter((fn) => fn !== 'auth');

    for (const fn of others) expect(() => loadConfig(fn, { ...DLQ_QUEUES, AUTH_ALLOWED_ACCOUNTS: 'not-an-account' }), fn).not.toThrow();
    expect(Object.keys(FUNCTION_SETTINGS.auth)).toContain('AUTH_ALLOWED_ACCOUNTS');
  });

  it('takes an onboarding token lifetime of exactly 30 days', () => {
    expect(loadConfig('auth', { ONBOARDING_TOKEN_LIFETIME_SECONDS: '2592000' })).toMatchObject({ ONBOARDING_TOKEN_LIFETIME_SECONDS: 2_592_000 });
  });

  it('refuses to start the dlq function without both queues, naming each', () => {
    expect(() => loadConfig('dlq', {})).toThrow(/DEAD_LETTER_QUEUE_URL.*TASK_EVENTS_QUEUE_URL/);
    expect(loadConfig('dlq', DLQ_QUEUES)).toMatchObject(DLQ_QUEUES);
  });
});

describe('ISSUER_URL', () => {
  it.each([
    ['https://abc.execute-api.us-east-2.amazonaws.com/', 'https://abc.execute-api.us-east-2.amazonaws.com'],
    ['https://mesh.example.com//', 'https://mesh.example.com'],
    ['https://mesh.example.com/onboarding/', 'https://mesh.example.com/onboarding'],
    ['https://mesh.example.com', 'https://mesh.example.com'],
  ])('is used in one spelling, without trailing slashes: %s', (given, used) => {
    expect(loadConfig('discovery', { ISSUER_URL: given }).ISSUER_URL).toBe(used);
  });

  it('publishes a rotated-in key for an hour before it signs unless told otherwise, and never a negative time', () => {
    expect(loadConfig('keys', {}).KEY_PREPUBLISH_SECONDS).toBe(3600);
    expect(loadConfig('keys', { KEY_PREPUBLISH_SECONDS: '172800' }).KEY_PREPUBLISH_SECONDS).toBe(172_800);
    expect(() => loadConfig('keys', { KEY_PREPUBLISH_SECONDS: '-1' })).toThrow('KEY_PREPUBLISH_SECONDS');
  });
});

describe('loadConfig: the names function', () => {
  it('takes the documented defaults; without a zone, mesh names are off', () => {
    expect(loadConfig('names', {}).MESH_DNS_ZONE_ID).toBeUndefined();
    expect(loadConfig('names', NAMES_ZONE)).toMatchObject({ ...NAMES_ZONE, MESH_DNS_ZONE_NAME: 'svc.cluster.local', MESH_NAME_CIDR: '127.1.0.0/16' });
  });

  it.each(['10.0.0.0/16', '127.1.0.5/16', '127.1.0.0'])('refuses meshNameCidr %s, saying why', (cidr) => {
    expect(() => loadConfig('names', { ...NAMES_ZONE, MESH_NAME_CIDR: cidr })).toThrow(/MESH_NAME_CIDR: 127|MESH_NAME_CIDR: 10/);
  });
});
