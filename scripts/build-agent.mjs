// `npm run build:agent`: bundles the sidecar agent (cli/ecs-mesh-agent.ts) and everything it
// imports into one ES module that runs on a stock Node 22 with no node_modules, the only file
// the agent image (deploy/agent/Dockerfile) copies.
//
//   node scripts/build-agent.mjs [--outfile dist/agent/ecs-mesh-agent.mjs] [--metafile <file>]
//
// The build fails when the bundle would import anything but a Node builtin (`node:*`), so an
// image built from it can never miss a package.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUTFILE = join(root, 'dist', 'agent', 'ecs-mesh-agent.mjs');
const BUILTINS = new Set(builtinModules);

/** Builds the bundle; returns its path and esbuild's metafile. Throws on a non-builtin import. */
export async function buildAgent({ outfile = DEFAULT_OUTFILE } = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'cli', 'ecs-mesh-agent.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // Never resolve a package at run time: everything but the builtins goes into the file.
    packages: 'bundle',
    minify: false,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    // CommonJS inside the bundle (if any) may still call require() for builtins.
    banner: { js: "import { createRequire as __ecsMeshCreateRequire } from 'node:module';\nconst require = __ecsMeshCreateRequire(import.meta.url);" },
  });
  const outputs = Object.values(result.metafile.outputs);
  const foreign = outputs.flatMap((o) => o.imports).filter((i) => !isBuiltin(i.path));
  if (foreign.length > 0) throw new Error(`the agent bundle imports more than Node builtins: ${[...new Set(foreign.map((i) => i.path))].join(', ')}`);
  return { outfile, metafile: result.metafile };
}

function isBuiltin(path) {
  return path.startsWith('node:') ? BUILTINS.has(path.slice(5)) : BUILTINS.has(path);
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const value = args[i + 1];
    if (!value) throw new Error(`${name} needs a value`);
    return resolve(value);
  };
  const known = new Set(['--outfile', '--metafile']);
  const unknown = args.filter((a, i) => a.startsWith('--') && !known.has(a) && !known.has(args[i - 1]));
  if (unknown.length > 0) {
    console.error(`unknown option ${unknown.join(' ')}\nusage: node scripts/build-agent.mjs [--outfile <file>] [--metafile <file>]`);
    process.exit(2);
  }
  const { outfile, metafile } = await buildAgent({ outfile: option('--outfile') });
  const metafileOut = option('--metafile');
  if (metafileOut) writeFileSync(metafileOut, JSON.stringify(metafile));
  console.error(`[build:agent] ${relative(process.cwd(), outfile) || outfile}: ${(statSync(outfile).size / 1024).toFixed(0)} KiB, imports only node: builtins`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    console.error(`[build:agent] ${error.message}`);
    process.exit(1);
  }
}
