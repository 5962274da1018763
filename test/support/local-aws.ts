/** SDK client configuration for the local AWS (moto) used by integration tests. */
import { inject } from 'vitest';

export function localAwsConfig() {
  return {
    endpoint: inject('awsEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}
