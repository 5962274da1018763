import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readIstioCrdSchemas } from '../support/kubernetes/istio-crd-validators.js';

const repoRoot = new URL('../../', import.meta.url);

describe('File: shared/core/istio-crds.json', () => {
  it('equals a fresh extraction from vendor/istio-crds', async () => {
    const run = promisify(execFile);

    const check = run(process.execPath, ['scripts/extract-istio-crds.mjs', '--check'], { cwd: repoRoot });

    await expect(check).resolves.toBeDefined();
  });

  it('holds the v1 schema of each kind the Lambdas write exactly as the CRD YAML has it', () => {
    const committed: unknown = JSON.parse(readFileSync(new URL('shared/core/istio-crds.json', repoRoot), 'utf8'));

    const fromYaml = readIstioCrdSchemas();

    expect(committed).toEqual({ WorkloadEntry: fromYaml.WorkloadEntry, WorkloadGroup: fromYaml.WorkloadGroup, Sidecar: fromYaml.Sidecar });
  });
});
