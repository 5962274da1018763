#!/usr/bin/env node
/**
 * Copies the `openAPIV3Schema` of the served storage version `v1` of each Istio CRD in
 * vendor/istio-crds/ (see its README for the upstream source and version) into
 * shared/core/istio-crds.json, the copy the Lambdas bundle to validate at runtime. Run after
 * replacing the CRD files, then `node --import tsx scripts/generate-crd-validators.ts` for the
 * validators generated from that copy; unit tests catch drift in either.
 *
 * Usage: node scripts/extract-istio-crds.mjs [--check]
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CRD_DIR = join(repoRoot, 'vendor/istio-crds');
export const OUTPUT_FILE = join(repoRoot, 'shared/core/istio-crds.json');
const KINDS = ['WorkloadEntry', 'WorkloadGroup', 'Sidecar'];
const VERSION = 'v1';

/** Reads every CRD in `dir` and returns `{ [kind]: openAPIV3Schema }` for the kinds we use. */
export async function extractIstioCrdSchemas(dir = CRD_DIR) {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const schemas = {};
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition' || !KINDS.includes(crd.spec?.names?.kind)) continue;
      const version = crd.spec.versions.find((v) => v.name === VERSION);
      // Only a version that is both served and the storage version is what the API server enforces.
      if (!version?.served || !version.storage) throw new Error(`${file}: ${VERSION} is not the served storage version`);
      schemas[crd.spec.names.kind] = version.schema.openAPIV3Schema;
    }
  }
  const missing = KINDS.filter((k) => !(k in schemas));
  if (missing.length > 0) throw new Error(`no CRD found in ${dir} for ${missing.join(', ')}`);
  return Object.fromEntries(KINDS.map((k) => [k, schemas[k]]));
}

/** The exact text written to istio-crds.json, so the drift test can compare strings. */
export function renderSchemas(schemas) {
  return `${JSON.stringify(schemas, null, 2)}\n`;
}

async function main() {
  const rendered = renderSchemas(await extractIstioCrdSchemas());
  if (process.argv.includes('--check')) {
    const current = await readFile(OUTPUT_FILE, 'utf8').catch(() => '');
    if (current !== rendered) {
      console.error(`${OUTPUT_FILE} is out of date: run node scripts/extract-istio-crds.mjs`);
      process.exit(1);
    }
    return;
  }
  await writeFile(OUTPUT_FILE, rendered);
  console.log(`wrote ${OUTPUT_FILE}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
