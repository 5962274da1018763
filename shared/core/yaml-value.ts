/**
 * A parsed YAML document as the plain value the policy API reads, for the API and the CLI alike,
 * so a file the CLI accepts is one the API accepts. YAML aliases are where the two could differ
 * from JSON: they can expand a small text into a large value, or put a node inside itself.
 */
import type { Document } from 'yaml';

/**
 * yaml's `maxAliasCount`: how often an anchored node may appear once expanded (its anchor and
 * every alias, times the aliases inside it), which bounds a "billion laughs" before the value is
 * built. yaml's default is 100; a policy needs few.
 */
export const MAX_YAML_ALIAS_COUNT = 32;

export type YamlValue = { ok: true; value: unknown } | { ok: false; problem: 'too-large' | 'malformed'; message: string };

/** The document's value, or why it has none that JSON can carry. */
export function yamlValue(doc: Document.Parsed): YamlValue {
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (error) {
    // yaml's only word for "aliases expand too far" is this message (an unknown anchor is a ReferenceError too).
    if (error instanceof ReferenceError && error.message.startsWith('Excessive alias count'))
      return { ok: false, problem: 'too-large', message: `YAML aliases expand the document too far: an anchored node may appear at most ${MAX_YAML_ALIAS_COUNT} times, counting the aliases inside it` };
    return { ok: false, problem: 'malformed', message: (error as Error).message };
  }
  try {
    JSON.stringify(value);
  } catch {
    return { ok: false, problem: 'malformed', message: 'an alias refers to a node that contains it' };
  }
  return { ok: true, value };
}
