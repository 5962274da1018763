// `npm run package`: bundles the Lambdas and renders the CloudFormation template with osls (offline:
// no AWS credentials or network needed unless a param itself reads AWS, e.g. ${ssm:...}), lints
// the template with the pinned cfn-lint, and prints the size of each function's zip.
//
//   node scripts/package.mjs [--stage dev] [--region us-east-1] [--package <dir>] [--params <file>] [--no-lint] [osls options...]
//
// STAGE and REGION from the environment are the defaults for --stage and --region. `--params`
// reads a YAML map of params (params.example.yml); other options (e.g.
// --param="meshK8sUrl=https://...") are passed to osls. A required param that is missing fails
// the run, naming it (deploy/required-params.cjs). `--no-lint` skips cfn-lint (npm run bench
// only wants the bundles). Exit code: 0 when packaging worked and
// cfn-lint found no error, in the service's template and in deploy/member-account-role.yaml
// (warnings are printed, they do not fail the run; the packaging test allows none).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { ensureVenv, venvBin } from './ensure-venv.mjs';
import { expandParamsFile } from './params-file.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

// cfn-lint checks left out, each for a finding about osls's own output that we cannot change:
// W3005: osls adds DependsOn for dependencies a GetAtt/Ref already implies (functions -> roles,
//        HTTP API routes -> integration).
const IGNORED_CHECKS = ['W3005'];
const OSLS_TIMEOUT_MS = 10 * 60_000;

/** Splits our own options from those passed through to osls. */
function parseArgs(rawArgs) {
  const opts = { stage: process.env.STAGE || 'dev', region: process.env.REGION || 'us-east-1', out: '.serverless', lint: true, rest: [] };
  const args = expandParamsFile(rawArgs);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--no-lint') {
      opts.lint = false;
      continue;
    }
    const m = /^--(stage|region|package)(?:=(.*))?$/.exec(arg);
    if (!m) {
      opts.rest.push(arg);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (!value) throw new Error(`${arg} needs a value`);
    if (m[1] === 'package') opts.out = value;
    else opts[m[1]] = value;
  }
  return opts;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error.code === 'ETIMEDOUT' ? new Error(`${args[0] ?? command} timed out`) : result.error;
  return result.status ?? 1;
}

/** The files of a zip, read from its central directory: [{ name, size, data() }] (stored or deflated). */
export function zipEntries(file) {
  const buf = readFileSync(file);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) return undefined;
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) return undefined;
    const [method, compressed, size, nameLength] = [buf.readUInt16LE(offset + 10), buf.readUInt32LE(offset + 20), buf.readUInt32LE(offset + 24), buf.readUInt16LE(offset + 28)];
    const local = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLength);
    const data = () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const raw = buf.subarray(start, start + compressed);
      return method === 8 ? inflateRawSync(raw) : raw;
    };
    entries.push({ name, size, data });
    offset += 46 + nameLength + buf.readUInt16LE(offset + 30) + buf.readUInt16LE(offset + 32);
  }
  return entries;
}

/** Uncompressed sizes of a zip's code and source maps. */
function unzippedSizes(file) {
  const entries = zipEntries(file);
  if (!entries) return undefined;
  const sizes = { code: 0, map: 0 };
  for (const { name, size } of entries) sizes[name.endsWith('.map') ? 'map' : 'code'] += size;
  return sizes;
}

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;

/** Sizes of the function zips osls wrote to `outDir`: [{ name, zipBytes, unzipped: { code, map } }]. */
export function bundleSizes(outDir) {
  return readdirSync(outDir)
    .filter((f) => f.endsWith('.zip'))
    .sort()
    .map((f) => ({ name: f.replace(/\.zip$/, ''), zipBytes: statSync(join(outDir, f)).size, unzipped: unzippedSizes(join(outDir, f)) }));
}

export async function main(args = []) {
  const opts = parseArgs(args);
  const outDir = resolve(root, opts.out);

  console.error(`[package] osls package --stage ${opts.stage} --region ${opts.region}`);
  const osls = require.resolve('osls/bin/serverless.js');
  const slsArgs = [osls, 'package', '--stage', opts.stage, '--region', opts.region, '--package', outDir, ...opts.rest];
  // No credentials are needed: packaging resolves nothing from AWS. Keep the SDK off the instance
  // metadata service in case something asks for credentials anyway.
  const env = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
  // Bounded, in case a build error leaves osls waiting on a child (see skipRebuild in serverless.yml).
  const slsStatus = run(process.execPath, slsArgs, { env, timeout: OSLS_TIMEOUT_MS });
  if (slsStatus !== 0) {
    console.error(`[package] osls package failed (exit ${slsStatus})`);
    return slsStatus;
  }

  const templatePath = join(outDir, 'cloudformation-template-update-stack.json');
  if (!existsSync(templatePath)) {
    console.error(`[package] ${templatePath} was not written`);
    return 1;
  }
  const lintFailed = opts.lint && lintTemplates(opts.region, templatePath);

  console.log('function bundles:');
  for (const { name, zipBytes, unzipped } of bundleSizes(outDir)) {
    const detail = unzipped ? ` (code ${kb(unzipped.code)}${unzipped.map ? `, source map ${kb(unzipped.map)}` : ''} unzipped)` : '';
    console.log(`  ${name.padEnd(16)} ${kb(zipBytes).padStart(8)} zipped${detail}`);
  }
  return lintFailed ? 1 : 0;
}

/** cfn-lint on the service's template and deploy/member-account-role.yaml; true when it found errors. */
function lintTemplates(region, templatePath) {
  ensureVenv();
  const memberTemplate = join(root, 'deploy', 'member-account-role.yaml');
  console.error(`[package] cfn-lint ${relative(root, templatePath)} ${relative(root, memberTemplate)}`);
  // cfn-lint's exit code is a bit mask: 1 fatal, 2 error, 4 warning, 8 informational.
  const lintStatus = run(venvBin('cfn-lint'), ['--regions', region, '--ignore-checks', ...IGNORED_CHECKS, '--', templatePath, memberTemplate]);
  const lintFailed = (lintStatus & 3) !== 0;
  // "no errors, no warnings" is what the packaging test expects of the templates with their params.
  console.error(lintFailed ? `[package] cfn-lint found errors (exit ${lintStatus})` : `[package] cfn-lint: no errors${lintStatus & 4 ? ' (warnings above)' : ', no warnings'}`);
  return lintFailed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[package] ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
