// `npm test` lints examples/ecs-service/template.yaml with the pinned cfn-lint (.venv, installed by
// scripts/ensure-venv.mjs before the integration tests): any error or warning fails.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CFN_LINT = join(root, '.venv', 'bin', 'cfn-lint');
const TEMPLATE = join(root, 'examples', 'ecs-service', 'template.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'ecs-service-lint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** cfn-lint's exit code (a bit mask: 1 fatal, 2 error, 4 warning, 8 informational) and what it printed. */
function cfnLint(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) =>
    execFile(CFN_LINT, ['--regions', 'us-east-1', 'us-west-2', 'eu-west-1', '--', file], { timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : NaN) : 0;
      if (Number.isNaN(code)) reject(error);
      else resolve({ code, output: `${stdout}${stderr}` });
    }),
  );
}

describe('examples/ecs-service/template.yaml', () => {
  it('lints clean: no error, no warning', async () => {
    const lint = await cfnLint(TEMPLATE);

    expect(lint.code & 0b111, lint.output).toBe(0);
    expect(lint.output).toBe('');
  }, 120_000);

  it('would fail on a template that waits for a container condition ECS does not have', async () => {
    const broken = join(scratch, 'template.yaml');
    writeFileSync(broken, readFileSync(TEMPLATE, 'utf8').replace('Condition: HEALTHY', 'Condition: READY'));

    const lint = await cfnLint(broken);

    expect(lint.code & 0b010).toBe(0b010);
    expect(lint.output).toContain('READY');
  }, 120_000);
});
