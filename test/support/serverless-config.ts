/**
 * serverless.yml as osls reads it before resolving variables: its `resources` list of
 * `${file(resources/<area>.yml)}` includes read and merged into one CloudFormation fragment section
 * by section (as osls merges them), CloudFormation's short tags in their long form (CFN_TAGS), YAML
 * merge keys (`<<`) applied. An id two files define fails: osls would merge the two silently. Other variables
 * (`${param:...}`, `${opt:...}`) are left as written. The one reader of serverless.yml for the
 * tests and scripts that need its resources; what CloudFormation finally gets is the packaged
 * template (test/integration/serverless-package.test.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Json } from './cloudformation.js';
import { CFN_TAGS } from './cloudformation-yaml.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILE_INCLUDE = /^\$\{file\(([^)]+)\)\}$/;

export interface ServerlessConfig {
  params: { default: Record<string, Json> };
  custom: Record<string, Json>;
  functions: Record<string, { handler: string; events?: Json[]; environment?: Record<string, Json> } & Record<string, Json>>;
  /** The merged fragment: extensions, Parameters, Conditions, Resources, Outputs. */
  resources: { extensions?: Record<string, Json>; Parameters: Record<string, Json>; Conditions: Record<string, Json>; Resources: Record<string, Json>; Outputs: Record<string, Json> };
}

const readYaml = (path: string): Json => parse(readFileSync(path, 'utf8'), { customTags: CFN_TAGS, merge: true }) as Json;
type Fragment = Record<string, Record<string, Json>>;

/** Adds `part`'s sections (Parameters, Resources, ...) to `merged`, refusing an id already there. */
function addFragment(merged: Fragment, part: Fragment, from: string): Fragment {
  for (const [section, entries] of Object.entries(part)) {
    const into = (merged[section] ??= {});
    for (const [id, value] of Object.entries(entries)) {
      if (id in into) throw new Error(`serverless.yml resources: ${section}.${id} is defined twice (again in ${from})`);
      into[id] = value;
    }
  }
  return merged;
}

/** serverless.yml of the checkout at `root` (this one by default), its resource includes merged. */
export function readServerlessConfig(root = ROOT): ServerlessConfig {
  const config = readYaml(join(root, 'serverless.yml')) as Record<string, Json>;
  const parts = Array.isArray(config.resources) ? (config.resources as Json[]) : [config.resources];
  const resources = parts.reduce((merged: Fragment, part: Json) => {
    if (typeof part !== 'string') return addFragment(merged, part as Fragment, 'serverless.yml');
    const include = FILE_INCLUDE.exec(part)?.[1];
    if (!include) throw new Error(`serverless.yml resources: ${part} is not a \${file(...)} include`);
    return addFragment(merged, readYaml(join(root, include)) as Fragment, include);
  }, {});
  return { ...config, resources } as ServerlessConfig;
}
