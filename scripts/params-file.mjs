// `--params <file>` for npm run package and npm run deploy: a YAML map of osls params
// (params.example.yml) turned into the `--param="name=value"` options osls takes.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The osls `--param` options for the params in `file`; throws on a value osls cannot take. */
export function paramOptions(file) {
  const params = parse(readFileSync(file, 'utf8')) ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) throw new Error(`${file}: expected a map of param names to values`);
  return Object.entries(params).map(([name, value]) => {
    if (value === null || typeof value === 'object') throw new Error(`${file}: ${name} must be a string, a number or a boolean`);
    const text = String(value);
    // osls reads `--param` values up to the first line break, and refuses an empty one.
    if (text === '' || text.includes('\n')) throw new Error(`${file}: ${name} must be one non-empty line; for a PEM use \${file(./ca.pem)}`);
    return `--param=${name}=${text}`;
  });
}

/** Splits `--params <file>` (or `--params=<file>`) out of `args`, expanding it into `--param` options. */
export function expandParamsFile(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--params(?:=(.*))?$/.exec(args[i]);
    if (!m) {
      out.push(args[i]);
      continue;
    }
    const file = m[1] ?? args[++i];
    if (!file) throw new Error('--params needs a file');
    out.push(...paramOptions(file));
  }
  return out;
}
