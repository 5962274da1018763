/**
 * Every shell block of README.md, of the guides in docs/ and of events/README.md runs as written
 * (issue 14: the README's copy-paste blocks must work; issue 21: so must the guides'). The
 * convention, for whoever adds a block:
 *
 * - A block fenced ```sh runs with `bash -euo pipefail`, from the repository root, in document
 *   order (README.md, then the guides in the order its "Where to go next" lists them, then
 *   events/README.md: `documentationPages`), against one `npm run local` this test starts. The
 *   CLI and `npm run invoke` find that stack through its context file, so a block needs no URL or
 *   credentials; `127.0.0.1:3000` and `localhost:3000` in a block become the stack's address.
 *   The shell holds no AWS_* variables, as a fresh terminal would.
 * - `$TASK_ID` and `$TASK_ARN` name a running awsvpc task of cluster `demo` (role `ratings-task`,
 *   tagged for the WorkloadGroup `bookinfo/ratings`, which the mesh has), recorded before the first
 *   block runs.
 * - `<!-- readme-test: local -->` as the last line before the fence: the block is for a deployed
 *   stack and expects an operator's shell: it runs with ECS_MESH_API_URL, AWS_ACCESS_KEY_ID,
 *   AWS_SECRET_ACCESS_KEY and AWS_REGION set to the local stack's.
 * - `<!-- readme-test: skip: <reason> -->` as the last line before the fence: not run (it needs a
 *   deployed stack, a cluster, an account); the reason is required. Keep these few.
 * - A ```text block right after a block that runs is what it prints: each of its lines must match
 *   a line of the output, in order (other lines may come between); `…` matches anything.
 *
 * A block passes when it exits 0 (and prints its ```text lines). Blocks may call curl (≥ 7.75, for
 * --aws-sigv4) and jq besides npm.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../../cli/api/signed-fetch.js';
import { startLocalProcess, until, type LocalProcess } from '../support/local-process.js';
import { runRatingsTask, writeRatingsGroup } from '../support/local-task.js';
import { documentationPages, shellBlocks, showsInOrder } from '../support/readme-blocks.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILES = documentationPages(root);
const blocks = FILES.flatMap((file) => shellBlocks(file, readFileSync(join(root, file), 'utf8')));

function bash(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string; stdout: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => ((stdout += c.toString()), (output += c.toString())));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output, stdout })));
}

let local: LocalProcess;
let dir: string;
let shell: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'readme-blocks-'));
  writeRatingsGroup(join(dir, 'mesh'));
  // Only the passes a block asks for: none in the background to race a block's `reconcile`.
  local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), RECONCILE_INTERVAL_SECONDS: '3600', LOCAL_POLICY_STREAM: 'off' });
  const { taskArn, taskId } = await runRatingsTask(local.aws);
  await until('the task to be recorded', async () => {
    const res = await signedFetch(`${local.issuer}/v1/enrollments/${taskId}`, { method: 'GET' }, { region: local.aws.region, credentials: local.aws.credentials });
    return res.ok ? true : undefined;
  }, 60, () => local.output());
  // A fresh terminal's environment: no AWS_* (nor npm's own variables), the test's context file.
  const inherited = Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(AWS_|ECS_MESH_|npm_|INIT_CWD$)/.test(k)) as [string, string][];
  shell = { ...Object.fromEntries(inherited), ECS_MESH_LOCAL_CONTEXT: local.contextFile, TASK_ID: taskId, TASK_ARN: taskArn, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') };
}, 120_000);

afterAll(async () => {
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the README and docs/ blocks', () => {
  it('are found: most run, and at least one shows its output', () => {
    expect(blocks.filter((b) => b.mode === 'run').length).toBeGreaterThan(5);
    expect(blocks.some((b) => b.expected !== undefined)).toBe(true);
  });

  it('can use the tools they call: curl ≥ 7.75 (--aws-sigv4) and jq', () => {
    const [major = 0, minor = 0] = (/^curl (\d+)\.(\d+)/.exec(execFileSync('curl', ['--version'], { encoding: 'utf8' })) ?? []).slice(1).map(Number);
    expect(major * 100 + minor, 'curl ≥ 7.75 signs with --aws-sigv4').toBeGreaterThanOrEqual(775);
    expect(execFileSync('jq', ['--version'], { encoding: 'utf8' })).toMatch(/^jq-/);
  });

  for (const block of blocks) {
    const run = typeof block.mode === 'object' ? it.skip : it;
    const title = typeof block.mode === 'object' ? `${block.where} (skipped: ${block.mode.skip})` : `${block.where} runs as written${block.mode === 'local' ? ', with a deployed stack\'s shell' : ''}`;
    run(title, async () => {
      const port = new URL(local.issuer).port;
      const script = block.script.replace(/\b(127\.0\.0\.1|localhost):3000\b/g, `$1:${port}`);
      const operator: Record<string, string> = block.mode === 'local' ? { ECS_MESH_API_URL: local.issuer, AWS_ACCESS_KEY_ID: local.aws.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: local.aws.credentials.secretAccessKey, AWS_REGION: local.aws.region } : {};

      const result = await bash(script, { ...shell, ...operator });

      expect(result.code, `${block.where}\n${script}\n---\n${result.output}`).toBe(0);
      if (block.expected) expect(showsInOrder(result.stdout, block.expected), `${block.where}: expected, in order:\n${block.expected.join('\n')}\n--- got:\n${result.stdout}`).toBe(true);
    }, 120_000);
  }
});
