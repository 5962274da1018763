/** Where requests go and which region they are signed for: flags first, then the API's hostname, then the environment. */
import { UsageError } from './errors.js';

export interface Endpoint {
  baseUrl: URL;
  region: string;
}

// API Gateway's default hostnames name their region; custom domains do not.
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/** Resolves the API URL and signing region, or throws a UsageError saying what to pass. */
export function resolveEndpoint(flags: { apiUrl?: string; region?: string }, env: Record<string, string | undefined>): Endpoint {
  const raw = flags.apiUrl ?? nonEmpty(env.ECS_MESH_API_URL);
  if (!raw) throw new UsageError('no API URL: pass --api-url or set ECS_MESH_API_URL');
  let baseUrl: URL;
  try {
    baseUrl = new URL(raw);
  } catch {
    throw new UsageError(`API URL ${raw} is not a URL`);
  }
  if (!/^https?:$/.test(baseUrl.protocol) || baseUrl.search || baseUrl.hash || baseUrl.username) throw new UsageError(`API URL ${raw} must be an http(s) URL without query, fragment or credentials`);
  // An execute-api hostname names the only region its signature can be valid for.
  const region = flags.region ?? regionOfHost(baseUrl.hostname) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (!region) throw new UsageError(`no region to sign for: pass --region or set AWS_REGION (${baseUrl.hostname} is not an execute-api hostname)`);
  return { baseUrl, region };
}

/** The region in `<id>.execute-api.<region>.amazonaws.com`, if the host is one. */
export function regionOfHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname)?.[1];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value ? value : undefined;
}
