import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { CALL_LOG } from './aws-call-recorder.js';
import { startMoto, type MotoServer } from '../../local/moto.js';

let moto: MotoServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // A fresh log of the AWS calls for the IAM check (test/iam/) of this run.
  rmSync(dirname(CALL_LOG), { recursive: true, force: true });
  moto = await startMoto();
  project.provide('awsEndpoint', moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}
