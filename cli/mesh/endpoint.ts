/**
 * Where requests go, which region they are signed for and, for the stack `npm run local` runs,
 * with which credentials. The URL is --api-url, else ECS_MESH_API_URL, else the running local
 * stack's (its context file, local/context.ts). A loopback URL of that stack, or none at all, signs
 * for the local region with the local credentials (moto's), whatever AWS_* the shell holds. The
 * region is otherwise --region, else the API's execute-api hostname, else the environment.
 */
import type { AwsCredentialsLike } from '../api/signed-fetch.js';
import type { LocalContextLookup } from '../../local/context.js';
import { StaleLocalStackError, UsageError } from './errors.js';

export interface Endpoint {
  baseUrl: URL;
  region: string;
  /** The local stack's credentials, when the URL is the running local stack's. */
  localCredentials?: AwsCredentialsLike;
}

// API Gateway's default hostnames name their region; custom domains do not.
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Resolves the API URL and signing region, or throws a UsageError saying what to pass, or, with no
 * URL given, a StaleLocalStackError for a local stack that is gone. A URL given is used as given.
 */
export function resolveEndpoint(flags: { apiUrl?: string; region?: string }, env: Record<string, string | undefined>, local: LocalContextLookup = { state: 'none' }): Endpoint {
  const baseUrl = resolveApiUrl(flags, env, local);
  if (LOOPBACK.has(baseUrl.hostname) && local.state === 'running' && sameOrigin(local.context.apiUrl, baseUrl)) {
    const { accessKeyId, secretAccessKey } = local.context.credentials;
    return { baseUrl, region: flags.region ?? local.context.region, localCredentials: { accessKeyId, secretAccessKey } };
  }
  // An execute-api hostname names the only region its signature can be valid for.
  const region = flags.region ?? regionOfHost(baseUrl.hostname) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (!region) throw new UsageError(`no region to sign for: pass --region or set AWS_REGION (${baseUrl.hostname} is not an execute-api hostname)`);
  return { baseUrl, region };
}

/** The API's base URL alone: --api-url, else ECS_MESH_API_URL, else the running local stack's. */
export function resolveApiUrl(flags: { apiUrl?: string }, env: Record<string, string | undefined>, local: LocalContextLookup = { state: 'none' }): URL {
  const given = flags.apiUrl ?? nonEmpty(env.ECS_MESH_API_URL);
  if (!given && local.state === 'stale') throw new StaleLocalStackError(local.message);
  const raw = given ?? (local.state === 'running' ? local.context.apiUrl : undefined);
  if (!raw) throw new UsageError('no API URL: pass --api-url, set ECS_MESH_API_URL, or start `npm run local`');
  return parseBaseUrl(raw);
}

/** The region in `<id>.execute-api.<region>.amazonaws.com`, if the host is one. */
export function regionOfHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname)?.[1];
}

function parseBaseUrl(raw: string): URL {
  let baseUrl: URL;
  try {
    baseUrl = new URL(raw);
  } catch {
    throw new UsageError(`API URL ${raw} is not a URL`);
  }
  if (!/^https?:$/.test(baseUrl.protocol) || baseUrl.search || baseUrl.hash || baseUrl.username) throw new UsageError(`API URL ${raw} must be an http(s) URL without query, fragment or credentials`);
  return baseUrl;
}

// 127.0.0.1 and localhost are one host here: the local stack listens on 127.0.0.1.
function sameOrigin(contextUrl: string, url: URL): boolean {
  const context = new URL(contextUrl);
  return context.protocol === url.protocol && context.port === url.port && LOOPBACK.has(context.hostname);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value ? value : undefined;
}
