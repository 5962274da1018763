import { beforeAll, inject } from 'vitest';
import { resetMoto } from '../../local/moto.js';

// Each integration file starts from an empty local AWS.
beforeAll(() => resetMoto(inject('awsEndpoint')));
