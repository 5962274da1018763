import { beforeAll, inject } from 'vitest';
import { LOCAL_AWS_ENV, resetMoto } from '../../local/moto.js';

// The SDK's default credential chain finds moto's dummy keys; never real ones.
Object.assign(process.env, LOCAL_AWS_ENV, { AWS_ENDPOINT_URL: inject('awsEndpoint'), POWERTOOLS_METRICS_DISABLED: 'true' });

// Each integration file starts from an empty local AWS.
beforeAll(() => resetMoto(inject('awsEndpoint')));
