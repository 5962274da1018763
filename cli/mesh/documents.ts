/**
 * Reads the documents named by `-f FILE|DIR`. A directory contributes its `.yaml`, `.yml` and
 * `.json` files (not its subdirectories) in name order; a YAML file may hold several documents
 * separated by `---`. Everything is read and parsed before anything is sent, so a typo in the
 * last file never leaves the first ones half applied. `-` is stdin, read as YAML (JSON is YAML).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseJsonStrict } from '../../shared/core/strict-json.js';
import { yamlValue } from '../../shared/core/yaml-value.js';
import { DocumentsError } from './errors.js';

export interface SourceDocument {
  /** The file, as the user named it (joined with the directory for a DIR). */
  file: string;
  /** 1-based position among the file's documents, empty ones counted (so `---` can be counted). */
  index: number;
  value: unknown;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The name stdin's documents are reported under. */
export const STDIN = '<stdin>';

/** Reads every path (relative ones against `cwd`; `-` from `stdin`); throws DocumentsError listing every failure. */
export async function readDocuments(paths: readonly string[], cwd: string, stdin: () => Promise<string> = () => Promise.reject(new Error('no stdin'))): Promise<SourceDocument[]> {
  const failures: string[] = [];
  const documents: SourceDocument[] = [];
  for (const path of paths) {
    if (path === '-') {
      try {
        documents.push(...parseFile(STDIN, await stdin(), failures));
      } catch (error) {
        failures.push(`${STDIN}: cannot read: ${(error as Error).message}`);
      }
      continue;
    }
    for (const file of await filesOf(path, cwd, failures)) {
      let text: string;
      try {
        text = await readFile(resolve(cwd, file), 'utf8');
      } catch (error) {
        failures.push(`${file}: cannot read: ${errnoText(error)}`);
        continue;
      }
      documents.push(...parseFile(file, text, failures));
    }
  }
  if (failures.length > 0) throw new DocumentsError(failures);
  return documents;
}

async function filesOf(path: string, cwd: string, failures: string[]): Promise<string[]> {
  try {
    if (!(await stat(resolve(cwd, path))).isDirectory()) return [path];
    const entries = await readdir(resolve(cwd, path), { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && EXTENSIONS.has(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort()
      .map((name) => join(path, name));
  } catch (error) {
    failures.push(`${path}: cannot read: ${errnoText(error)}`);
    return [];
  }
}

function parseFile(file: string, text: string, failures: string[]): SourceDocument[] {
  if (extname(file).toLowerCase() === '.json') {
    if (text.trim() === '') return [];
    try {
      JSON.parse(text); // for its error message, which says where
    } catch (error) {
      failures.push(`${file}: document 1: ${(error as Error).message}`);
      return [];
    }
    // Strict as the API is: a repeated key would otherwise reach it as only its last value.
    const parsed = parseJsonStrict(text);
    if (parsed.ok) return [{ file, index: 1, value: parsed.value }];
    failures.push(`${file}: document 1: ${parsed.detail}`);
    return [];
  }
  const out: SourceDocument[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const [first] = doc.errors;
    if (first) failures.push(`${file}: document ${i + 1}: ${first.message.split('\n')[0]}`);
    else {
      const read = yamlValue(doc);
      // `---` with nothing (or only comments) after it parses as a null document: skip it.
      if (!read.ok) failures.push(`${file}: document ${i + 1}: ${read.message}`);
      else if (read.value !== null && read.value !== undefined) out.push({ file, index: i + 1, value: read.value });
    }
  });
  return out;
}

function errnoText(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code === 'ENOENT' ? 'no such file or directory' : (code ?? message);
}
