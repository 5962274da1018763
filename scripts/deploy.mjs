// `npm run deploy`: osls deploy, with `--params <file>` (params.example.yml) expanded into
// `--param` options. Everything else is passed to osls as it is, e.g.
//
//   npm run deploy -- --stage prod --region us-east-2 --params params.prod.yml
//
// osls packages first, so a missing required param fails here too, naming it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandParamsFile } from './params-file.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const osls = createRequire(import.meta.url).resolve('osls/bin/serverless.js');
try {
  const result = spawnSync(process.execPath, [osls, 'deploy', ...expandParamsFile(process.argv.slice(2))], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
} catch (err) {
  console.error(`[deploy] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
