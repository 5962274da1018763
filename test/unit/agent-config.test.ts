import { describe, expect, it } from 'vitest';
import { loadAgentConfig, tokenPathFrom } from '../../cli/agent/config.js';
import { AgentConfigError } from '../../cli/agent/errors.js';
import { TEST_TLS_CERT } from '../support/agent-tls-fixture.js';

const ECS_ENV = {
  AWS_REGION: 'eu-west-1',
  ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc-123/',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/xyz',
};

const files: Record<string, string> = {
  '/etc/agent/onboarding.yaml': 'onboardingEndpoint:\n  host: onboarding.example.com\nworkloadGroup:\n  namespace: shop\n  name: cart\n',
  '/etc/agent/roots.pem': TEST_TLS_CERT,
};
const readText = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

// An agent running as an ordinary user (the image's default); root is tested on its own below.
const AGENT_UID = 1337;
const load = (env: Record<string, string>) => loadAgentConfig({ ...ECS_ENV, ...env }, readText, AGENT_UID);

describe('loadAgentConfig', () => {
  it('reads inline JSON and applies the documented defaults', () => {
    const config = load({ ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"onboarding.example.com"}}' });

    expect(config).toEqual({
      // TSB's default port, so a TSB configuration points where it always did.
      exchangeUrl: 'https://onboarding.example.com:15443/v1/auth/exchange',
      ignoredFields: [],
      serverId: 'ecs-mesh-onboarding',
      tokenPath: '/var/run/ecs-mesh/token',
      region: 'eu-west-1',
      stsUrl: 'https://sts.eu-west-1.amazonaws.com/',
      metadataUri: 'http://169.254.170.2/v4/abc-123',
      credentials: { url: 'http://169.254.170.2/v2/credentials/xyz' },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads inline YAML with Tetrate fields, the group, labels and SNI', () => {
    const yaml = [
      'apiVersion: config.agent.onboarding.tetrate.io/v1alpha1',
      'kind: OnboardingConfiguration',
      'onboardingEndpoint:',
      '  host: onboarding.example.com',
      '  port: 8443',
      '  path: /prod/v1/auth/exchange',
      '  transportSecurity: { tls: { sni: onboarding.internal } }',
      'workloadGroup: { namespace: shop, name: cart }',
      'workload:',
      '  labels: { version: v2, tier: "1", app.kubernetes.io/part-of: shop }',
    ].join('\n');

    const config = load({ ONBOARDING_CONFIG: yaml, ONBOARDING_SERVER_ID: 'prod-mesh', ONBOARDING_TOKEN_PATH: '/tokens/onboarding' });

    expect(config).toMatchObject({
      exchangeUrl: 'https://onboarding.example.com:8443/prod/v1/auth/exchange',
      servername: 'onboarding.internal',
      workloadGroup: 'shop/cart',
      labels: { version: 'v2', tier: '1', 'app.kubernetes.io/part-of': 'shop' },
      serverId: 'prod-mesh',
      tokenPath: '/tokens/onboarding',
    });
  });

  it('takes a TSB configuration as it is, and says which of its settings it ignores', () => {
    const tsb = [
      'apiVersion: config.agent.onboarding.tetrate.io/v1alpha1',
      'kind: OnboardingConfiguration',
      'onboardingEndpoint:',
      '  host: onboarding.example.com',
      '  transportSecurity:',
      '    tls: { sni: onboarding.example.com, insecureSkipVerify: false }',
      'workloadGroup: { namespace: bookinfo, name: ratings }',
      'workload:',
      '  labels: { version: v5 }',
      '  annotations: { owner: team-a }',
      'settings:',
      '  connectedOver: INTERNET',
    ].join('\n');

    const config = load({ ONBOARDING_CONFIG: tsb });

    expect(config).toMatchObject({ exchangeUrl: 'https://onboarding.example.com:15443/v1/auth/exchange', servername: 'onboarding.example.com', workloadGroup: 'bookinfo/ratings', labels: { version: 'v5' } });
    expect(config.ignoredFields).toEqual([
      'settings: a TSB setting this agent does not use; ignored',
      'workload.annotations: a TSB setting this agent does not use; ignored',
      'onboardingEndpoint.transportSecurity.tls.insecureSkipVerify: a TSB setting this agent does not use; ignored',
    ]);
  });

  it('still refuses what is wrong inside TSB fields it uses', () => {
    expect(() => load({ ONBOARDING_CONFIG: 'onboardingEndpoint: { host: o.example, transportSecurity: { tls: { sni: "not a host/" } } }' })).toThrow('onboardingEndpoint.transportSecurity.tls.sni');
    expect(() => load({ ONBOARDING_CONFIG: 'onboardingEndpoint: { host: o.example, prot: 443 }' })).toThrow('prot');
  });

  it('reads the document from @file and the root certs from a path', () => {
    const config = load({ ONBOARDING_CONFIG: '@/etc/agent/onboarding.yaml', ONBOARDING_AGENT_ROOT_CERTS: '/etc/agent/roots.pem' });

    expect(config.exchangeUrl).toBe('https://onboarding.example.com:15443/v1/auth/exchange');
    expect(config.workloadGroup).toBe('shop/cart');
    expect(config.rootCerts).toBe(TEST_TLS_CERT);
  });

  it('takes inline PEM root certs as they are', () => {
    const config = load({ ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example"}}', ONBOARDING_AGENT_ROOT_CERTS: TEST_TLS_CERT });

    expect(config.rootCerts).toBe(TEST_TLS_CERT);
  });

  it('allows plain http to a loopback control plane, defaulting to port 80', () => {
    expect(load({ ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"127.0.0.1","port":3000,"scheme":"http"}}' }).exchangeUrl).toBe('http://127.0.0.1:3000/v1/auth/exchange');
    expect(load({ ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"localhost","scheme":"http"}}' }).exchangeUrl).toBe('http://localhost:80/v1/auth/exchange');
  });

  it('signs for STS_ENDPOINT on local runs and for the .cn STS in China regions', () => {
    const onboarding = { ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example"}}' };

    expect(load({ ...onboarding, STS_ENDPOINT: 'http://127.0.0.1:5000' }).stsUrl).toBe('http://127.0.0.1:5000/');
    expect(load({ ...onboarding, AWS_REGION: 'cn-north-1' }).stsUrl).toBe('https://sts.cn-north-1.amazonaws.com.cn/');
  });

  it('uses a full credentials URI with its authorization token file', () => {
    const config = loadAgentConfig(
      { ...ECS_ENV, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined, AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9000/creds', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/token', ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example"}}' },
      readText,
      AGENT_UID,
    );

    expect(config.credentials).toEqual({ url: 'http://127.0.0.1:9000/creds', authorizationTokenFile: '/var/run/token' });
  });

  it('falls back to AWS_DEFAULT_REGION', () => {
    const config = loadAgentConfig({ ...ECS_ENV, AWS_REGION: undefined, AWS_DEFAULT_REGION: 'us-west-2', ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example"}}' }, readText, AGENT_UID);

    expect(config.region).toBe('us-west-2');
  });

  it.each([
    { case: 'no ONBOARDING_CONFIG', env: { ONBOARDING_CONFIG: undefined }, names: 'ONBOARDING_CONFIG: required' },
    { case: 'a document that is neither JSON nor YAML', env: { ONBOARDING_CONFIG: '{ "onboardingEndpoint": ' }, names: 'not valid JSON or YAML' },
    { case: 'no host', env: { ONBOARDING_CONFIG: '{"onboardingEndpoint":{}}' }, names: 'onboardingEndpoint.host: required' },
    { case: 'a host with a scheme', env: { ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"https://o.example"}}' }, names: 'onboardingEndpoint.host' },
    { case: 'a port out of range', env: { ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example","port":70000}}' }, names: 'onboardingEndpoint.port' },
    { case: 'a path with a query', env: { ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example","path":"/x?y=1"}}' }, names: 'onboardingEndpoint.path' },
    { case: 'an unknown field', env: { ONBOARDING_CONFIG: 'onboardingEndpoint: { host: o.example }\nworkloadGroups: {}' }, names: 'workloadGroups' },
    { case: 'an invalid group namespace', env: { ONBOARDING_CONFIG: 'onboardingEndpoint: { host: o.example }\nworkloadGroup: { namespace: Shop, name: cart }' }, names: 'workloadGroup.namespace' },
    { case: 'a label value that is not a string', env: { ONBOARDING_CONFIG: 'onboardingEndpoint: { host: o.example }\nworkload: { labels: { version: 2 } }' }, names: 'workload.labels.version' },
    { case: 'a label key with a space', env: { ONBOARDING_CONFIG: 'onboardingEndpoint: { host: o.example }\nworkload: { labels: { "my key": v1 } }' }, names: 'must be a Kubernetes label key' },
    { case: 'a label value too long', env: { ONBOARDING_CONFIG: `onboardingEndpoint: { host: o.example }\nworkload: { labels: { version: ${'v'.repeat(64)} } }` }, names: 'workload.labels.version: must be a Kubernetes label value' },
    { case: 'http to a remote host', env: { ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example","scheme":"http"}}' }, names: 'only for a loopback host' },
    { case: 'a config file that cannot be read', env: { ONBOARDING_CONFIG: '@/nope.yaml' }, names: 'cannot read /nope.yaml: ENOENT' },
    { case: 'root certs that are no certificate', env: { ONBOARDING_AGENT_ROOT_CERTS: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----' }, names: 'ONBOARDING_AGENT_ROOT_CERTS: not a PEM certificate' },
    { case: 'a root certs bundle with a broken second certificate', env: { ONBOARDING_AGENT_ROOT_CERTS: `${TEST_TLS_CERT}\n-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n` }, names: 'not a PEM certificate (certificate 2 of 2)' },
    { case: 'a token owner for an agent that is not root', env: { ONBOARDING_TOKEN_OWNER: '1337' }, names: 'ONBOARDING_TOKEN_OWNER: only an agent running as root' },
    { case: 'a token owner that is no uid', env: { ONBOARDING_TOKEN_OWNER: 'istio-proxy' }, names: 'ONBOARDING_TOKEN_OWNER: must be uid or uid:gid' },
    { case: 'a root certs path that cannot be read', env: { ONBOARDING_AGENT_ROOT_CERTS: '/nope.pem' }, names: 'ONBOARDING_AGENT_ROOT_CERTS: cannot read' },
    { case: 'no region at all', env: { AWS_REGION: undefined }, names: 'AWS_REGION: required' },
    { case: 'a malformed region', env: { AWS_REGION: 'Europe' }, names: 'AWS_REGION' },
    { case: 'no task metadata endpoint', env: { ECS_CONTAINER_METADATA_URI_V4: undefined }, names: 'ECS_CONTAINER_METADATA_URI_V4: required' },
    { case: 'no credentials endpoint', env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined }, names: 'AWS_CONTAINER_CREDENTIALS_FULL_URI: required' },
    { case: 'a plain-http credentials URI off the host', env: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined, AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://10.0.0.1/creds' }, names: 'not 10.0.0.1' },
    { case: 'an STS_ENDPOINT that is no URL', env: { STS_ENDPOINT: 'moto' }, names: 'STS_ENDPOINT' },
  ])('refuses $case and names it', ({ env, names }) => {
    const load = () => loadAgentConfig({ ...ECS_ENV, ONBOARDING_CONFIG: '{"onboardingEndpoint":{"host":"o.example"}}', ...env }, readText, AGENT_UID);

    expect(load).toThrow(AgentConfigError);
    expect(load).toThrow(names);
  });

  describe('a task definition written for TSB\'s onboarding agent', () => {
    // What TSB's ECS guide puts in the agent's container: the configuration as JSON in one
    // variable, the root certs as PEM in another, and `user: "0"`.
    const TSB_ENV = {
      ...ECS_ENV,
      ONBOARDING_CONFIG: JSON.stringify({
        apiVersion: 'config.agent.onboarding.tetrate.io/v1alpha1',
        kind: 'OnboardingConfiguration',
        onboardingEndpoint: { host: 'onboarding.example.com', transportSecurity: { tls: { sni: 'onboarding-endpoint.example' } } },
        workloadGroup: { namespace: 'bookinfo', name: 'ratings' },
        workload: { labels: { version: 'v5' } },
        settings: { connectedOver: 'INTERNET' },
      }),
      ONBOARDING_AGENT_ROOT_CERTS: `${TEST_TLS_CERT}${TEST_TLS_CERT}`,
    };

    it('runs as root and hands the token file to the proxy\'s user', () => {
      const config = loadAgentConfig(TSB_ENV, readText, 0);

      expect(config).toMatchObject({
        exchangeUrl: 'https://onboarding.example.com:15443/v1/auth/exchange',
        servername: 'onboarding-endpoint.example',
        workloadGroup: 'bookinfo/ratings',
        labels: { version: 'v5' },
        rootCerts: `${TEST_TLS_CERT}${TEST_TLS_CERT}`,
        tokenOwner: { uid: 1337, gid: 1337 },
      });
      expect(config.ignoredFields).toEqual(['settings: a TSB setting this agent does not use; ignored']);
    });

    it('hands the token to ONBOARDING_TOKEN_OWNER instead when it is set', () => {
      expect(loadAgentConfig({ ...TSB_ENV, ONBOARDING_TOKEN_OWNER: '101:102' }, readText, 0).tokenOwner).toEqual({ uid: 101, gid: 102 });
      expect(loadAgentConfig({ ...TSB_ENV, ONBOARDING_TOKEN_OWNER: '101' }, readText, 0).tokenOwner).toEqual({ uid: 101, gid: 101 });
    });

    it('keeps the token its own when not root', () => {
      expect(loadAgentConfig(TSB_ENV, readText, AGENT_UID).tokenOwner).toBeUndefined();
    });
  });
});

describe('tokenPathFrom', () => {
  it('is ONBOARDING_TOKEN_PATH, else the default, whatever else the environment holds', () => {
    expect(tokenPathFrom({ ONBOARDING_TOKEN_PATH: '/var/run/secrets/tokens/istio-token', ONBOARDING_CONFIG: '{' })).toBe('/var/run/secrets/tokens/istio-token');
    expect(tokenPathFrom({})).toBe('/var/run/ecs-mesh/token');
    expect(tokenPathFrom({ ONBOARDING_TOKEN_PATH: '' })).toBe('/var/run/ecs-mesh/token');
  });
});
