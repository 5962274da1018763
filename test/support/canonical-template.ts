/**
 * The template `osls package` renders, as text that changes only when what is deployed changes:
 * keys sorted, and what differs from one packaging to the next (the artifact folder's timestamp,
 * each function version's code hash, in its logical id and its CodeSha256) replaced by a
 * placeholder. The packaging test compares it with test/integration/__snapshots__/, so moving
 * serverless.yml's resources between files can never silently change the stack.
 */
import type { Json } from './cloudformation.js';

/** Ids osls gives a function's version: `<Function>LambdaVersion<hash of its code and settings>`. */
const VERSION_ID = /\b([A-Z][A-Za-z0-9]*LambdaVersion)[A-Za-z0-9]{20,}\b/g;
/** Where osls uploads the zips: serverless/<service>/<stage>/<epoch ms>-<ISO time>/. */
const ARTIFACT_FOLDER = /(serverless\/[^/"]+\/[^/"]+\/)\d+-\d{4}-\d\d-\d\dT[\d:.]+Z\//g;

function sortKeys(node: Json): Json {
  if (Array.isArray(node)) return node.map(sortKeys);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.keys(node as Record<string, Json>)
      .sort()
      .map((key) => [key, sortKeys((node as Record<string, Json>)[key])]),
  );
}

/** The template as sorted JSON, two-space indented, with the per-packaging values replaced. */
export function canonicalTemplate(template: Json): string {
  // Replaced before sorting, so a version's id sorts the same whatever its hash.
  const stable = JSON.stringify(template)
    .replace(VERSION_ID, '$1<code hash>')
    .replace(ARTIFACT_FOLDER, '$1<artifact folder>/')
    .replace(/"CodeSha256":"[^"]*"/g, '"CodeSha256":"<code hash>"');
  return `${JSON.stringify(sortKeys(JSON.parse(stable) as Json), null, 2)}\n`;
}
