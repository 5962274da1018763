/**
 * JSON parsing that refuses repeated object keys. `JSON.parse('{"a":1,"a":2}')` silently keeps
 * the last value, so two readers of one document could disagree on what it says (a parser
 * differential, the shape of Consul's 2025 "query params override the body" bug).
 */

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; detail: string };

/** `JSON.parse`, refusing a document in which any object repeats a key. */
export function parseJsonStrict(text: string): StrictJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, detail: 'not valid JSON' };
  }
  return hasRepeatedKey(text) ? { ok: false, detail: 'a JSON object repeats a key' } : { ok: true, value };
}

/**
 * Walks text that JSON.parse has already accepted (so strings are well formed) and tracks the keys
 * of each open object; iterative, so deep nesting cannot overflow the stack.
 */
function hasRepeatedKey(text: string): boolean {
  const open: (Set<string> | undefined)[] = []; // one entry per open container; undefined = array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      open.push(undefined);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = open.at(-1) !== undefined;
    } else if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return true;
        keys.add(key);
      }
      expectKey = false;
      i = end;
    }
  }
  return false;
}
