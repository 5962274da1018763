// Entry point of every npm script: installs what is missing on a fresh clone (npm packages;
// the moto .venv is installed by the commands that need it), then runs the command.
// Plain Node on purpose: it must run before node_modules exists.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...args] = process.argv.slice(2);

const COMMANDS = {
  demo: ['tsx', 'scripts/demo.ts'],
  local: ['tsx', 'local/serve.ts'],
  invoke: ['tsx', 'scripts/invoke.ts'],
  test: ['node', 'scripts/test.mjs'],
  // The same tests on Node 22 (the Lambda runtime's major), from the npm registry's `node` package.
  'test:node22': ['node22', 'scripts/test.mjs'],
  package: ['node', 'scripts/package.mjs'],
  deploy: ['node', 'scripts/deploy.mjs'],
  bench: ['tsx', 'scripts/bench.ts'],
  chaos: ['tsx', 'scripts/chaos.ts'],
  agent: ['tsx', 'cli/ecs-mesh-agent.ts'],
  // The agent as one file for its image: dist/agent/ecs-mesh-agent.mjs (deploy/agent/Dockerfile).
  'build:agent': ['node', 'scripts/build-agent.mjs'],
  'ecs-mesh': ['tsx', 'cli/ecs-mesh.ts'],
};

if (!COMMANDS[command]) {
  console.error(`usage: node scripts/run.mjs <${Object.keys(COMMANDS).join('|')}> [args]`);
  process.exit(2);
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.error('[setup] installing npm packages (first run only)...');
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

const [runner, script] = COMMANDS[command];
const node22 = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).config.node22;
const [bin, argv] =
  runner === 'node22' ? ['npx', ['--yes', '-p', `node@${node22}`, '--', 'node', script, ...args]] : [process.execPath, runner === 'tsx' ? ['--import', 'tsx', script, ...args] : [script, ...args]];
const child = spawn(bin, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
// Pass Ctrl-C / SIGTERM on so the command can stop what it started (moto, servers).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
