/**
 * The agent's configuration, read and validated once at start so a broken task definition fails
 * at once (exit 2) with the variable named. No other agent module reads process.env.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { AgentConfigError, describeIssues } from './errors.js';
import { parseOnboardingConfig, type OnboardingTarget } from './onboarding-config.js';
import { regionalStsHost } from '../../shared/core/sts-endpoint.js';

export interface AgentConfig extends OnboardingTarget {
  /** PEM roots trusted for the exchange's https; the system store when absent. */
  rootCerts?: string;
  /** The deployment's server ID, signed as the audience header. */
  serverId: string;
  tokenPath: string;
  /** Where istio-proxy's declaration (workload-entry.env, mesh-config.yaml) is written; none when absent. */
  proxyConfigDir?: string;
  /** Who the token file is handed to when the agent runs as root (TSB task definitions run it as user 0). */
  tokenOwner?: TokenOwner;
  region: string;
  /** The STS URL that is signed (never called by the agent): regional AWS, or STS_ENDPOINT locally. */
  stsUrl: string;
  /** ECS task metadata endpoint v4 (its base; `/task` is appended). */
  metadataUri: string;
  credentials: ContainerCredentialsSource;
}

/** The uid and gid the token file is chowned to. */
export interface TokenOwner {
  uid: number;
  gid: number;
}

/** The uid of Istio's proxy (istio/proxyv2 runs as istio-proxy, 1337): a root agent hands it the token. */
export const ISTIO_PROXY_UID = 1337;

/** Where the ECS container credentials come from (the same variables the AWS SDKs read). */
export interface ContainerCredentialsSource {
  url: string;
  /** A file re-read on every fetch (it may be rotated), or a fixed token. */
  authorizationTokenFile?: string;
  authorizationToken?: string;
}

/** Where the token is written unless ONBOARDING_TOKEN_PATH says otherwise. */
export const DEFAULT_TOKEN_PATH = '/var/run/ecs-mesh/token';

const nonEmpty = () => z.string().check(z.minLength(1));
const httpUrl = () => z.url({ protocol: /^https?$/ });

const EnvSchema = z.object({
  ONBOARDING_CONFIG: nonEmpty(),
  ONBOARDING_AGENT_ROOT_CERTS: z.optional(nonEmpty()),
  ONBOARDING_SERVER_ID: z._default(nonEmpty(), 'ecs-mesh-onboarding'),
  ONBOARDING_TOKEN_PATH: z._default(nonEmpty(), DEFAULT_TOKEN_PATH),
  ONBOARDING_PROXY_CONFIG_DIR: z.optional(nonEmpty()),
  ONBOARDING_TOKEN_OWNER: z.optional(z.string().check(z.regex(/^\d{1,10}(:\d{1,10})?$/, 'must be uid or uid:gid (numbers)'))),
  AWS_REGION: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1'))),
  AWS_DEFAULT_REGION: z.optional(z.string()),
  /** Local runs only: the STS endpoint to sign for (moto) instead of AWS's regional one. */
  STS_ENDPOINT: z.optional(httpUrl()),
  ECS_CONTAINER_METADATA_URI_V4: httpUrl(),
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: z.optional(z.string().check(z.regex(/^\//, 'must start with /'))),
  AWS_CONTAINER_CREDENTIALS_FULL_URI: z.optional(httpUrl()),
  AWS_CONTAINER_AUTHORIZATION_TOKEN: z.optional(nonEmpty()),
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: z.optional(nonEmpty()),
});

// As in the AWS SDKs: a plain-http full URI may only name the ECS/EKS agents or a loopback address.
const CREDENTIALS_HTTP_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|169\.254\.170\.2|169\.254\.170\.23|\[fd00:ec2::23\])$/;

/**
 * Reads and checks the environment; throws AgentConfigError naming every bad variable. `uid` is
 * the agent's own user id (the token file's owner rule depends on it).
 */
export function loadAgentConfig(env: Record<string, string | undefined>, readText: (path: string) => string = (p) => readFileSync(p, 'utf8'), uid: number | undefined = process.getuid?.()): AgentConfig {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    throw new AgentConfigError(`invalid configuration: ${describeIssues(result.error.issues, '(env)')}`);
  }
  const vars = result.data;
  const region = vars.AWS_REGION ?? vars.AWS_DEFAULT_REGION;
  if (!region) throw new AgentConfigError('invalid configuration: AWS_REGION: required (ECS sets it in every task)');
  const target = parseOnboardingConfig(vars.ONBOARDING_CONFIG, readText);
  const rootCerts = vars.ONBOARDING_AGENT_ROOT_CERTS === undefined ? undefined : readRootCerts(vars.ONBOARDING_AGENT_ROOT_CERTS, readText);
  const tokenOwner = resolveTokenOwner(vars.ONBOARDING_TOKEN_OWNER, uid);
  return Object.freeze({
    ...target,
    ...(rootCerts ? { rootCerts } : {}),
    serverId: vars.ONBOARDING_SERVER_ID,
    tokenPath: vars.ONBOARDING_TOKEN_PATH,
    ...(vars.ONBOARDING_PROXY_CONFIG_DIR ? { proxyConfigDir: vars.ONBOARDING_PROXY_CONFIG_DIR } : {}),
    ...(tokenOwner ? { tokenOwner } : {}),
    region,
    stsUrl: vars.STS_ENDPOINT ? `${new URL(vars.STS_ENDPOINT).origin}/` : `https://${stsHost(region)}/`,
    metadataUri: vars.ECS_CONTAINER_METADATA_URI_V4.replace(/\/+$/, ''),
    credentials: credentialsSource(vars),
  });
}

/** The regional STS host; the server accepts only regional endpoints of known partitions. */
export const stsHost = regionalStsHost;

/** The token path alone (the healthcheck needs nothing else, so a broken config cannot hide a token). */
export function tokenPathFrom(env: Record<string, string | undefined>): string {
  const path = env.ONBOARDING_TOKEN_PATH;
  return path === undefined || path === '' ? DEFAULT_TOKEN_PATH : path;
}

/**
 * The token file is 0400, so only its owner (and root) can read it. As root (TSB's task
 * definitions run the agent as user 0), the file goes to ONBOARDING_TOKEN_OWNER, else to Istio's
 * proxy user; as anyone else it stays the agent's, and the agent must run as the proxy's user.
 */
function resolveTokenOwner(value: string | undefined, uid: number | undefined): TokenOwner | undefined {
  if (uid !== 0) {
    if (value !== undefined) throw new AgentConfigError(`invalid configuration: ONBOARDING_TOKEN_OWNER: only an agent running as root can hand the token to another user (this one runs as uid ${uid ?? 'unknown'}); run it as the proxy's user instead`);
    return undefined;
  }
  if (value === undefined) return { uid: ISTIO_PROXY_UID, gid: ISTIO_PROXY_UID };
  const [owner, group] = value.split(':').map(Number) as [number, number | undefined];
  return { uid: owner, gid: group ?? owner };
}

function credentialsSource(vars: z.infer<typeof EnvSchema>): ContainerCredentialsSource {
  const auth = {
    ...(vars.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ? { authorizationTokenFile: vars.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE } : {}),
    ...(vars.AWS_CONTAINER_AUTHORIZATION_TOKEN ? { authorizationToken: vars.AWS_CONTAINER_AUTHORIZATION_TOKEN } : {}),
  };
  // The relative URI wins, as in the SDKs: it is what ECS itself sets for a task role.
  if (vars.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return { url: `http://169.254.170.2${vars.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`, ...auth };
  const full = vars.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (!full) throw new AgentConfigError('invalid configuration: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI: required (is a task role set?)');
  const url = new URL(full);
  if (url.protocol === 'http:' && !CREDENTIALS_HTTP_HOSTS.test(url.hostname))
    throw new AgentConfigError(`invalid configuration: AWS_CONTAINER_CREDENTIALS_FULL_URI: http is allowed only for loopback or the ECS/EKS agent, not ${url.hostname}`);
  return { url: full, ...auth };
}

function readRootCerts(value: string, readText: (path: string) => string): string {
  let pem = value;
  if (!value.includes('-----BEGIN')) {
    try {
      pem = readText(value);
    } catch (error) {
      throw new AgentConfigError(`invalid configuration: ONBOARDING_AGENT_ROOT_CERTS: cannot read ${value}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }
  // A bundle (TSB's docs pass one in the variable itself) must hold only certificates, each valid.
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new AgentConfigError('invalid configuration: ONBOARDING_AGENT_ROOT_CERTS: not a PEM certificate');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new AgentConfigError(`invalid configuration: ONBOARDING_AGENT_ROOT_CERTS: not a PEM certificate${blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : ''}`, { cause: error });
    }
  });
  return pem;
}
