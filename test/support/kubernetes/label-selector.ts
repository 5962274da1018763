/** Kubernetes label selectors (`a=b,c!=d,e,!f,g in (x,y),h notin (z)`), as the API server parses them. */

/** A parsed selector: true when every requirement holds for `labels`. */
export type LabelSelector = (labels: Record<string, string> | undefined) => boolean;

/** The selector could not be parsed; the API server answers 400 BadRequest. */
export class LabelSelectorSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorSyntaxError';
  }
}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

type Requirement = (labels: Record<string, string>) => boolean;

/** Parses a `labelSelector` query value; an empty selector matches everything. */
export function parseLabelSelector(selector: string): LabelSelector {
  const requirements = splitRequirements(selector).map(parseRequirement);
  return (labels) => requirements.every((holds) => holds(labels ?? {}));
}

/** Splits on commas that are not inside a `( … )` value set. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  const trimmed = parts.map((p) => p.trim());
  if (trimmed.length === 1 && trimmed[0] === '') return [];
  if (trimmed.some((p) => p === '')) throw new LabelSelectorSyntaxError(`found ',', expected: identifier in "${selector}"`);
  return trimmed;
}

function parseRequirement(text: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = new Set(list.split(',').map((v) => checkValue(v.trim())));
    checkKey(key);
    return op === 'in' ? (l) => Object.hasOwn(l, key) && values.has(l[key] as string) : (l) => !values.has(l[key] as string);
  }
  const compare = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (compare) {
    const [, key = '', op, raw = ''] = compare;
    const value = checkValue(raw);
    checkKey(key);
    return op === '!=' ? (l) => l[key] !== value : (l) => Object.hasOwn(l, key) && l[key] === value;
  }
  if (text.startsWith('!')) {
    const key = checkKey(text.slice(1).trim());
    return (l) => !Object.hasOwn(l, key);
  }
  const key = checkKey(text);
  return (l) => Object.hasOwn(l, key);
}

function checkKey(key: string): string {
  if (!KEY.test(key) || key.length > 317) throw new LabelSelectorSyntaxError(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw new LabelSelectorSyntaxError(`invalid label value: "${value}"`);
  return value;
}
