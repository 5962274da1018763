/**
 * Bench section `bundles`: each Lambda's bundle as deployed, and what it costs to start. Packages
 * the service with the real packaging (scripts/package.mjs: osls + serverless-esbuild, offline,
 * params.example.yml, no cfn-lint) into a temp dir, then per function reports the bundle and zip
 * sizes and the cold import of the bundle in a fresh `node` with the function's environment from
 * the template (NODE_OPTIONS included) against a fresh `node` importing an empty module with the
 * same environment: medians of BENCH_IMPORT_RUNS runs each, interleaved.
 *
 * The ratios are of the child's CPU time (user + system, all threads): on a shared 2-core machine
 * wall time mostly measures the other processes, and at 512 MB a Lambda has a fraction of a vCPU,
 * so its cold start takes about its CPU time. Wall time is reported beside it. Every function has
 * a floor bundle (the SDK clients it calls, test/support/function-sdk-clients.ts, with Powertools
 * and middy, nothing of ours, built and imported the same way): what no change of ours can remove.
 * Each function's cold import is held to FLOOR_GOAL times its own floor's.
 * The largest inputs of each bundle, and what it holds beyond its floor, come from an esbuild
 * metafile of the same build (serverless.yml's custom.esbuild), checked to match the packaged
 * bundle byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { parse } from 'yaml';
// @ts-expect-error -- plain ESM helper shared with the npm scripts
import { zipEntries } from '../package.mjs';
import { lambdaEnvironment, type Template } from '../../test/support/cloudformation.js';
import { FUNCTION_SDK_CLIENTS, SDK_CLIENTS, type SdkClient } from '../../test/support/function-sdk-clients.js';
import type { FunctionName } from '../../shared/config.js';
import type { BenchRow, BenchSection } from './row.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 9);
/** Issue 21: every function's cold import (CPU) within this much of its own floor's. */
const FLOOR_GOAL = 1.2;
const ZIP_GOAL_BYTES = 500 * 1024;
/** serverless-esbuild's own options, which it removes before calling esbuild (its bundle.js). */
const PLUGIN_OPTIONS = [
  'concurrency', 'zipConcurrency', 'exclude', 'nativeZip', 'packager', 'packagePath', 'watch', 'keepOutputDirectory', 'packagerOptions', 'installExtraArgs',
  'outputFileExtension', 'outputBuildFolder', 'outputWorkFolder', 'nodeExternals', 'skipBuild', 'skipRebuild', 'skipBuildExcludeFns', 'stripEntryResolveExtensions', 'disposeContext',
];

interface ZipEntry {
  name: string;
  size: number;
  data(): Buffer;
}
interface Bundle {
  fn: string;
  /** The handler module, relative to the zip's root (functions/<dir>/handler.mjs). */
  module: string;
  file: string;
  codeBytes: number;
  mapBytes: number;
  zipBytes: number;
  env: Record<string, string>;
  inputs: Array<{ name: string; bytes: number }>;
}

/**
 * The floor of a function's cold import: the SDK clients it calls, Powertools and middy,
 * constructed once as the handler does, and nothing of ours; built with the same esbuild options.
 */
function floorEntry(clients: readonly SdkClient[]): string {
  const constructed = clients.map((c) => (c === 'DynamoDB' ? 'DynamoDBDocumentClient.from(new DynamoDBClient({}))' : `new ${c}Client({})`));
  return [
    "import middy from '@middy/core';",
    "import { Logger } from '@aws-lambda-powertools/logger';",
    "import { Metrics } from '@aws-lambda-powertools/metrics';",
    ...(clients.includes('DynamoDB') ? ["import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';"] : []),
    ...clients.map((c) => `import { ${c}Client } from '${SDK_CLIENTS[c].package}';`),
    `const clients = [${constructed.join(', ')}];`,
    "const logger = new Logger({ serviceName: 'floor' });",
    "const metrics = new Metrics({ namespace: 'floor' });",
    'export const handler = middy(async () => ({ clients, logger, metrics }));',
  ].join('\n');
}

export const bundlesSection: BenchSection = { name: 'bundles', run };

async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    const bundles = await packageBundles(dir);
    const floors = await buildFloors(bundles, dir);
    console.error(`[bundles] cold imports: ${RUNS} runs each, interleaved with an empty module`);
    const times = coldImports([...bundles, ...floors], dir);
    const added = new Map(bundles.map((b) => [b.fn, beyondFloor(b.inputs, floors.find((f) => f.fn === `${b.fn} floor`)!.inputs)]));
    for (const b of bundles) {
      const t = times.get(b.fn)!;
      const floor = times.get(`${b.fn} floor`)!;
      console.error(
        `${b.fn.padEnd(16)} code ${kb(b.codeBytes).padStart(7)} map ${kb(b.mapBytes).padStart(7)} zip ${kb(b.zipBytes).padStart(7)}  ` +
          `cpu ${t.cpu.bundle.toFixed(0)} ms vs floor ${floor.cpu.bundle.toFixed(0)} ms = ${(t.cpu.bundle / floor.cpu.bundle).toFixed(2)}× (empty ${t.cpu.empty.toFixed(0)} ms)  ` +
          `wall ${t.wall.bundle.toFixed(0)} vs floor ${floor.wall.bundle.toFixed(0)} ms = ${(t.wall.bundle / floor.wall.bundle).toFixed(2)}×\n` +
          `${''.padEnd(16)} largest inputs: ${b.inputs.slice(0, 8).map((i) => `${i.name} ${kb(i.bytes)}`).join(', ')}\n` +
          `${''.padEnd(16)} beyond the floor: ${added.get(b.fn)!.slice(0, 8).map((i) => `${i.name} ${kb(i.bytes)}`).join(', ')}`,
      );
    }
    return bundles.map((b) => row(b, times.get(b.fn)!, times.get(`${b.fn} floor`)!, added.get(b.fn)!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ratio = (t: { bundle: number; empty: number }) => t.bundle / t.empty;

function row(b: Bundle, t: ImportTimes, floor: ImportTimes, added: Bundle['inputs']): BenchRow {
  const toFloor = t.cpu.bundle / floor.cpu.bundle;
  const importMissed = toFloor > FLOOR_GOAL;
  const zipMissed = b.zipBytes > ZIP_GOAL_BYTES;
  const misses = [...(importMissed ? [`import ${toFloor.toFixed(2)}× its floor > ${FLOOR_GOAL}×`] : []), ...(zipMissed ? [`zip ${kb(b.zipBytes)} > ${kb(ZIP_GOAL_BYTES)}`] : [])];
  const clients = FUNCTION_SDK_CLIENTS[b.fn as FunctionName];
  return {
    measure: `cold import of the ${b.fn} bundle vs its floor (CPU time)`,
    now:
      `${toFloor.toFixed(2)}× (${t.cpu.bundle.toFixed(0)} vs ${floor.cpu.bundle.toFixed(0)} ms; wall ${(t.wall.bundle / floor.wall.bundle).toFixed(2)}×; vs an empty module ${ratio(t.cpu).toFixed(2)}×, the floor ${ratio(floor.cpu).toFixed(2)}×; ` +
      `code ${kb(b.codeBytes)}${b.mapBytes ? ` + map ${kb(b.mapBytes)}` : ''}, ${kb(b.zipBytes)} zipped; beyond the floor: ${added.slice(0, 4).map((i) => `${i.name} ${kb(i.bytes)}`).join(', ')})`,
    goal: `≤ ${FLOOR_GOAL.toFixed(1)}× the floor (its ${clients.join(', ')} clients, Powertools and middy); zipped ≤ ${kb(ZIP_GOAL_BYTES)}`,
    meets: misses.length === 0,
    data: {
      fn: b.fn,
      floorRatio: toFloor,
      cpuRatio: ratio(t.cpu),
      wallRatio: ratio(t.wall),
      cpuMs: t.cpu,
      wallMs: t.wall,
      floorCpuRatio: ratio(floor.cpu),
      floorWallRatio: ratio(floor.wall),
      floorCpuMs: floor.cpu.bundle,
      floorClients: clients,
      runs: RUNS,
      node: process.version,
      codeBytes: b.codeBytes,
      mapBytes: b.mapBytes,
      zipBytes: b.zipBytes,
      nodeOptions: b.env.NODE_OPTIONS ?? '',
      largestInputs: b.inputs.slice(0, 12),
      beyondFloor: added.slice(0, 12),
      misses,
    },
  };
}

/** The floor bundle of each function, with that function's environment. */
async function buildFloors(bundles: Bundle[], dir: string): Promise<Array<{ fn: string; file: string; env: Record<string, string>; inputs: Bundle['inputs'] }>> {
  const options = deployedEsbuildOptions();
  const floors = [];
  for (const b of bundles) {
    const file = join(dir, 'floor', b.fn, 'handler.mjs');
    const result = await build({ ...options, absWorkingDir: root, stdin: { contents: floorEntry(FUNCTION_SDK_CLIENTS[b.fn as FunctionName]), resolveDir: root, loader: 'ts' }, outfile: file, metafile: true, logLevel: 'silent' });
    const output = Object.entries((result.metafile as Metafile).outputs).find(([path]) => !path.endsWith('.map'))![1];
    floors.push({ fn: `${b.fn} floor`, file, env: b.env, inputs: groupedInputs(output) });
  }
  return floors;
}

/** What a bundle holds beyond its floor: per package or folder, the bytes over the floor's, largest first. */
function beyondFloor(bundle: Bundle['inputs'], floor: Bundle['inputs']): Bundle['inputs'] {
  const inFloor = new Map(floor.map((i) => [i.name, i.bytes]));
  return bundle.map((i) => ({ name: i.name, bytes: i.bytes - (inFloor.get(i.name) ?? 0) })).filter((i) => i.bytes >= 1024).sort((a, b) => b.bytes - a.bytes);
}

/** Packages the service into `dir` as `npm run package` does, unzips each function and reads its bundle's inputs. */
async function packageBundles(dir: string): Promise<Bundle[]> {
  const out = join(dir, 'package');
  const started = performance.now();
  const pkg = spawnSync(process.execPath, ['scripts/package.mjs', '--stage', 'bench', '--region', 'us-east-1', '--package', out, '--params', 'params.example.yml', '--no-lint'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
  });
  if (pkg.status !== 0) throw new Error(`scripts/package.mjs failed (exit ${pkg.status}):\n${pkg.stdout}${pkg.stderr}`);
  console.error(`[bundles] packaged in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  const esbuildOptions = deployedEsbuildOptions();
  const bundles: Bundle[] = [];
  for (const [id, resource] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
    const fn = id.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase());
    const handler = resource.Properties.Handler as string;
    const module = `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`;
    const zip = join(out, `${fn}.zip`);
    const entries = (zipEntries(zip) as ZipEntry[] | undefined) ?? [];
    const target = join(dir, 'unzipped', fn);
    for (const entry of entries) {
      mkdirSync(dirname(join(target, entry.name)), { recursive: true });
      writeFileSync(join(target, entry.name), entry.data());
    }
    const code = entries.find((e) => e.name === module);
    if (!code) throw new Error(`${zip} has no ${module}: ${entries.map((e) => e.name).join(', ')}`);
    const inputs = await largestInputs(esbuildOptions, module.replace(/\.mjs$/, '.ts'), code.data());
    bundles.push({
      fn,
      module,
      file: join(target, module),
      codeBytes: entries.filter((e) => !e.name.endsWith('.map')).reduce((n, e) => n + e.size, 0),
      mapBytes: entries.filter((e) => e.name.endsWith('.map')).reduce((n, e) => n + e.size, 0),
      zipBytes: statSync(zip).size,
      env: lambdaEnvironment(template, id),
      inputs,
    });
  }
  return bundles.sort((a, b) => a.fn.localeCompare(b.fn));
}

/** serverless.yml's custom.esbuild as serverless-esbuild hands it to esbuild. */
function deployedEsbuildOptions(): BuildOptions {
  // The CloudFormation tags elsewhere in the file do not matter here; only custom.esbuild is read.
  const service = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'silent', merge: true }) as { custom: { esbuild: Record<string, unknown> } };
  const options = { ...service.custom.esbuild };
  const extension = options.outputFileExtension as string | undefined;
  const exclude = (options.exclude as string[] | undefined) ?? [];
  for (const name of PLUGIN_OPTIONS) delete options[name];
  return {
    ...(options as BuildOptions),
    external: [...((options.external as string[] | undefined) ?? []), ...(exclude.includes('*') ? [] : exclude)],
    ...(extension && extension !== '.js' ? { outExtension: { '.js': extension } } : {}),
  };
}

/** The bundle's inputs grouped by npm package (or by project folder), largest first; throws if the build differs from the deployed bundle. */
async function largestInputs(options: BuildOptions, entry: string, deployed: Buffer): Promise<Array<{ name: string; bytes: number }>> {
  const result = await build({ ...options, absWorkingDir: root, entryPoints: [entry], outdir: join(root, dirname(entry)), write: false, metafile: true, logLevel: 'silent' });
  const code = result.outputFiles.find((f) => !f.path.endsWith('.map'));
  if (!code || !Buffer.from(code.contents).equals(deployed)) throw new Error(`${entry}: the metafile build differs from the packaged bundle: serverless.yml's custom.esbuild is not read as serverless-esbuild reads it`);
  return groupedInputs(Object.values((result.metafile as Metafile).outputs).find((o) => o.entryPoint === entry)!);
}

/** An output's inputs grouped by npm package (or by project folder), largest first. */
function groupedInputs(output: Metafile['outputs'][string]): Array<{ name: string; bytes: number }> {
  const groups = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const pkgName = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const name = pkgName ?? path.split('/').slice(0, -1).join('/');
    groups.set(name, (groups.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...groups].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

interface ImportTimes {
  /** Median CPU time (user + system, all threads) of the child, bundle and empty module. */
  cpu: { bundle: number; empty: number };
  /** Median wall time of the child, from spawn to exit. */
  wall: { bundle: number; empty: number };
}

/**
 * A fresh `node` importing each bundle, and one importing an empty module, with the function's
 * environment: medians of RUNS each, interleaved (the order alternating run to run).
 */
function coldImports(files: Array<{ fn: string; file: string; env: Record<string, string> }>, dir: string): Map<string, ImportTimes> {
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, '');
  // The child reports its own CPU time: on this shared machine wall time is mostly other processes' load.
  const script = "await import(process.argv[1]); const c = process.cpuUsage(); process.stdout.write(String((c.user + c.system) / 1000));";
  const time = (file: string, env: Record<string, string>) => {
    const start = performance.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(file).href], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    const wall = performance.now() - start;
    if (child.status !== 0) throw new Error(`importing ${file} failed (exit ${child.status}): ${child.stderr}`);
    return { wall, cpu: Number(child.stdout) };
  };
  const samples = new Map(files.map((f) => [f.fn, { bundle: [] as Array<{ wall: number; cpu: number }>, empty: [] as Array<{ wall: number; cpu: number }> }]));
  for (const f of files) time(f.file, f.env); // warm the file cache
  for (let r = 0; r < RUNS; r++) {
    for (const f of files) {
      const s = samples.get(f.fn)!;
      const order = r % 2 === 0 ? (['empty', 'bundle'] as const) : (['bundle', 'empty'] as const);
      for (const which of order) s[which].push(time(which === 'empty' ? empty : f.file, f.env));
    }
  }
  const med = (xs: Array<{ wall: number; cpu: number }>, key: 'wall' | 'cpu') => median(xs.map((x) => x[key]));
  return new Map(
    [...samples].map(([fn, s]) => [fn, { cpu: { bundle: med(s.bundle, 'cpu'), empty: med(s.empty, 'cpu') }, wall: { bundle: med(s.bundle, 'wall'), empty: med(s.empty, 'wall') } }]),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
