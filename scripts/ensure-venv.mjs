// Creates .venv with the pinned moto server and cfn-lint the first time they are needed,
// so `npm test`, `npm run demo` and `npm run package` work from a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requirements = join(root, 'requirements-dev.txt');
export const venvDir = join(root, '.venv');
export const venvBin = (name) => join(venvDir, 'bin', name);

/** Installs (or re-installs after requirements change) the Python tools; returns the bin dir. */
export function ensureVenv({ quiet = false } = {}) {
  const stamp = join(venvDir, '.requirements');
  const wanted = readFileSync(requirements, 'utf8');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted && existsSync(venvBin('moto_server'))) return join(venvDir, 'bin');
  const log = (m) => quiet || console.error(m);
  log('[setup] creating .venv with the pinned moto server and cfn-lint (first run only)...');
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(venvBin('python'))) execFileSync(python, ['-m', 'venv', venvDir], { stdio: 'inherit' });
  execFileSync(venvBin('python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements], { stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, wanted);
  log('[setup] .venv ready');
  return join(venvDir, 'bin');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureVenv();
