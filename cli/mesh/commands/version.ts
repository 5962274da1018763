/**
 * `version`: the CLI's package version and, when an API is configured, the route version the CLI
 * speaks (`v1`) and whether that API answers it. The API publishes no build version of its own, so
 * the check reads its public discovery document (unsigned: no credentials needed).
 */
import { readFileSync } from 'node:fs';
import { EXIT_CODES, describeFailure } from '../errors.js';
import type { CommandResult } from './context.js';

export const API_VERSION = 'v1';
const TIMEOUT_MS = 5000;

/** Always exit 0: the versions are printed whether or not the API answers. */
export async function printVersion(apiUrl: () => URL, stdout: (text: string) => void): CommandResult {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  stdout(`ecs-mesh ${version}\n`);
  let base: URL;
  try {
    base = apiUrl();
  } catch (error) {
    stdout(`api: not configured (${firstLine(error)})\n`);
    return EXIT_CODES.OK;
  }
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/.well-known/openid-configuration`, base.origin);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const issuer = response.ok ? ((await response.json()) as { issuer?: unknown }).issuer : undefined;
    stdout(response.ok ? `api: ${API_VERSION} at ${base.href} (answers; issuer ${String(issuer)})\n` : `api: ${base.href} answered ${response.status}: not this API, or another stage\n`);
  } catch (error) {
    stdout(`api: ${base.href} not reachable (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message})\n`);
  }
  return EXIT_CODES.OK;
}

function firstLine(error: unknown): string {
  return describeFailure(error)?.[0]?.replace(/^error: /, '') ?? (error as Error).message;
}
