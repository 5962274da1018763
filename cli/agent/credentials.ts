/**
 * The task role's credentials from the ECS container credentials endpoint, as the AWS SDKs read
 * them (`fromContainerMetadata`/`fromHttp`), written here so the agent does not depend on a package
 * the project only has transitively. Error messages never include the endpoint's answer.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import type { ContainerCredentialsSource } from './config.js';
import { AgentTransientError } from './errors.js';
import { sendHttp } from './http.js';

/** Temporary credentials of the task role. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

const CredentialsSchema = z.looseObject({
  AccessKeyId: z.string().check(z.minLength(1)),
  SecretAccessKey: z.string().check(z.minLength(1)),
  Token: z.optional(z.string().check(z.minLength(1))),
  Expiration: z.optional(z.iso.datetime({ offset: true })),
});

const TIMEOUT_MS = 5000;
// ECS rotates task credentials well before they expire; refreshing 5 minutes early means a
// signature is never made with credentials that die before the server checks them with STS.
const REFRESH_MARGIN_MS = 5 * 60_000;

/** Returns a provider that caches the credentials until 5 minutes before their Expiration. */
export function createContainerCredentialsProvider(source: ContainerCredentialsSource, now: () => number = Date.now): (signal?: AbortSignal) => Promise<AwsCredentials> {
  let cached: AwsCredentials | undefined;
  return async (signal) => {
    if (cached?.expiration && cached.expiration.getTime() - REFRESH_MARGIN_MS > now()) return cached;
    cached = await fetchCredentials(source, signal);
    return cached;
  };
}

async function fetchCredentials(source: ContainerCredentialsSource, signal?: AbortSignal): Promise<AwsCredentials> {
  const authorization = await authorizationHeader(source);
  const answer = await sendHttp(source.url, { method: 'GET', timeoutMs: TIMEOUT_MS, headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) }, ...(signal ? { signal } : {}) });
  if (answer.status !== 200) throw new AgentTransientError('CREDENTIALS_UNAVAILABLE', `container credentials endpoint answered ${answer.status}`);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new AgentTransientError('CREDENTIALS_MALFORMED', 'container credentials endpoint answered something other than JSON');
  }
  const parsed = CredentialsSchema.safeParse(body);
  // Only the field names go into the message: the values are secrets.
  if (!parsed.success) throw new AgentTransientError('CREDENTIALS_MALFORMED', `container credentials lack or garble: ${[...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ')}`);
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = parsed.data;
  return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, ...(Token ? { sessionToken: Token } : {}), ...(Expiration ? { expiration: new Date(Expiration) } : {}) };
}

async function authorizationHeader(source: ContainerCredentialsSource): Promise<string | undefined> {
  // The file wins over the variable (as in the SDKs) and is re-read each time: EKS Pod Identity rotates it.
  if (source.authorizationTokenFile) {
    try {
      return (await readFile(source.authorizationTokenFile, 'utf8')).trim();
    } catch (error) {
      throw new AgentTransientError('CREDENTIALS_UNAVAILABLE', `cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
    }
  }
  return source.authorizationToken;
}
