/**
 * Every `JWT_RULE` value the documentation gives, in each form an operator copies: a shell
 * assignment (`JWT_RULE='…'`, `--set pilot.env.JWT_RULE=…`), a YAML/Helm value (`JWT_RULE: '…'`, an
 * env list's `- name: JWT_RULE` + `value: …`) and JSON (`"JWT_RULE": "…"`). A line that assigns
 * JWT_RULE in a form not recognised here is returned as `unrecognised`, so a test fails on it
 * rather than skip it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface DocumentedJwtRule {
  /** `README.md:550`. */
  where: string;
  /** The string istiod's environment would hold. */
  value: string;
}

const SHELL = /JWT_RULE=('([^']*)'|"((?:\\.|[^"\\])*)"|([^\s'"]+))/g;
const JSON_MEMBER = /"JWT_RULE"\s*:\s*("(?:\\.|[^"\\])*")/g;
const YAML_KEY = /(?:^|[\s{,])JWT_RULE:\s+(.*)$/;
const YAML_ENV_NAME = /^\s*-?\s*name:\s*["']?JWT_RULE["']?\s*$/;
/** A line that gives JWT_RULE a value, in any form. */
const ASSIGNS = /JWT_RULE\s*=|JWT_RULE["']?\s*:|name:\s*["']?JWT_RULE/;

/** The rules in `README.md` and every Markdown page under `docs/` of `root`. */
export function documentedJwtRules(root: string): { rules: DocumentedJwtRule[]; unrecognised: string[] } {
  const pages = ['README.md', ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  const rules: DocumentedJwtRule[] = [];
  const unrecognised: string[] = [];
  for (const page of pages) {
    const found = jwtRulesIn(page, readFileSync(join(root, page), 'utf8'));
    rules.push(...found.rules);
    unrecognised.push(...found.unrecognised);
  }
  return { rules, unrecognised };
}

/** The rules in one page's text. */
export function jwtRulesIn(page: string, text: string): { rules: DocumentedJwtRule[]; unrecognised: string[] } {
  const rules: DocumentedJwtRule[] = [];
  const unrecognised: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${page}:${i + 1}`;
    if (!ASSIGNS.test(line)) return;
    const found = valuesOn(line, lines[i + 1]);
    if (found.length === 0) unrecognised.push(`${where}: ${line.trim()}`);
    for (const value of found) rules.push({ where, value });
  });
  return { rules, unrecognised };
}

function valuesOn(line: string, next: string | undefined): string[] {
  const shell = [...line.matchAll(SHELL)].map((m) => m[2] ?? unescapeDoubleQuoted(m[3]) ?? m[4]!);
  if (shell.length > 0) return shell;
  const json = [...line.matchAll(JSON_MEMBER)].map((m) => JSON.parse(m[1]!) as string);
  if (json.length > 0) return json;
  const yamlValue = YAML_KEY.exec(line)?.[1] ?? (YAML_ENV_NAME.test(line) ? /^\s*value:\s+(.*)$/.exec(next ?? '')?.[1] : undefined);
  const parsed = yamlValue === undefined ? undefined : (parseYaml(yamlValue) as unknown);
  // A block scalar (`|`, `>`) or anything but one string on the line is not recognised.
  return typeof parsed === 'string' && !/^[|>]/.test(yamlValue!.trim()) ? [parsed] : [];
}

function unescapeDoubleQuoted(text: string | undefined): string | undefined {
  return text?.replace(/\\(.)/g, '$1');
}
