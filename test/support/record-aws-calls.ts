import { beforeAll, expect } from 'vitest';
import { installAwsCallRecorder } from './aws-call-recorder.js';

// Every integration file records the AWS calls its functions make, for the IAM check (test/iam/).
beforeAll(() => installAwsCallRecorder(expect.getState().testPath ?? 'unknown'));
