/** One full exchange: task ARN, task-role credentials, signature, POST (docs/architecture.md#exchange). */
import type { AgentConfig } from './config.js';
import { createContainerCredentialsProvider } from './credentials.js';
import { AgentTransientError } from './errors.js';
import { postExchange, type ExchangeOutcome } from './exchange.js';
import { buildExchangeRequest } from './sign-request.js';
import { createTaskArnReader } from './task-metadata.js';

/** Returns a function that runs one exchange; a dependency's transient failure becomes `unavailable`. */
export function createTokenSource(config: AgentConfig, now: () => number = Date.now): (signal: AbortSignal) => Promise<ExchangeOutcome> {
  const readTaskArn = createTaskArnReader(config.metadataUri);
  const readCredentials = createContainerCredentialsProvider(config.credentials, now);
  return async (signal) => {
    try {
      const taskArn = await readTaskArn(signal);
      const credentials = await readCredentials(signal);
      // Signed right before sending, and anew for every attempt: the server refuses stale and replayed signatures.
      const body = await buildExchangeRequest({
        credentials,
        region: config.region,
        stsUrl: config.stsUrl,
        serverId: config.serverId,
        signingDate: new Date(now()),
        taskArn,
        ...(config.workloadGroup ? { workloadGroup: config.workloadGroup } : {}),
        ...(config.labels ? { labels: config.labels } : {}),
      });
      return await postExchange(config.exchangeUrl, body, {
        now,
        signal,
        ...(config.rootCerts ? { ca: config.rootCerts } : {}),
        ...(config.servername ? { servername: config.servername } : {}),
      });
    } catch (error) {
      if (error instanceof AgentTransientError) return { kind: 'unavailable', code: error.code, message: error.message };
      throw error;
    }
  };
}
