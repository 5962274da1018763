import type { Settings } from '../config.js';

/** SDK client settings: region, and the local endpoint when one is configured (moto). */
export function clientConfig(config: Settings<'AWS_REGION' | 'AWS_ENDPOINT_URL'>) {
  return { region: config.AWS_REGION, ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}), maxAttempts: 3 };
}
