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
  region: string;
  /** The STS URL that is signed (never called by the agent): regional AWS, or STS_ENDPOINT locally. */
  stsUrl: string;
  /** ECS task metadata endpoint v4 (its base; `/task` is appended). */
  metadataUri: string;
  credentials: ContainerCredentialsSource;
}

/** Where the ECS container credentials come from (the same variables the AWS SDKs read). */
export interface ContainerCredentialsSource {
  url: string;
  /** A file re-read on every fetch (it may be rotated), or a fixed token. */
  authorizationTokenFile?: string;
  authorizationToken?: string;
}

const nonEmpty = () => z.string().check(z.minLength(1));
const httpUrl = () => z.url({ protocol: /^https?$/ });

const EnvSchema = z.object({
  ONBOARDING_CONFIG: nonEmpty(),
  ONBOARDING_AGENT_ROOT_CERTS: z.optional(nonEmpty()),
  ONBOARDING_SERVER_ID: z._default(nonEmpty(), 'ecs-mesh-onboarding'),
  ONBOARDING_TOKEN_PATH: z._default(nonEmpty(), '/var/run/ecs-mesh/token'),
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

/** Reads and checks the environment; throws AgentConfigError naming every bad variable. */
export function loadAgentConfig(env: Record<string, string | undefined>, readText: (path: string) => string = (p) => readFileSync(p, 'utf8')): AgentConfig {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    throw new AgentConfigError(`invalid configuration: ${describeIssues(result.error.issues, '(env)')}`);
  }
  const vars = result.data;
  const region = vars.AWS_REGION ?? vars.AWS_DEFAULT_REGION;
  if (!region) throw new AgentConfigError('invalid configuration: AWS_REGION: required (ECS sets it in every task)');
  const target = parseOnboardingConfig(vars.ONBOARDING_CONFIG, readText);
  const rootCerts = vars.ONBOARDING_AGENT_ROOT_CERTS === undefined ? undefined : readRootCerts(vars.ONBOARDING_AGENT_ROOT_CERTS, readText);
  return Object.freeze({
    ...target,
    ...(rootCerts ? { rootCerts } : {}),
    serverId: vars.ONBOARDING_SERVER_ID,
    tokenPath: vars.ONBOARDING_TOKEN_PATH,
    region,
    stsUrl: vars.STS_ENDPOINT ? `${new URL(vars.STS_ENDPOINT).origin}/` : `https://${stsHost(region)}/`,
    metadataUri: vars.ECS_CONTAINER_METADATA_URI_V4.replace(/\/+$/, ''),
    credentials: credentialsSource(vars),
  });
}

/** The regional STS host; the server accepts only regional endpoints of known partitions. */
export const stsHost = regionalStsHost;

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
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new AgentConfigError('invalid configuration: ONBOARDING_AGENT_ROOT_CERTS: not a PEM certificate', { cause: error });
  }
  return pem;
}
