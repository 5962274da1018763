/**
 * Plain-text tables and the `-o json|yaml` renderings. No terminal tricks: output pipes cleanly
 * (and main.ts shows any control character the API sends as `\uXXXX`: ../terminal-text.ts).
 */
import { Document, Scalar, visit } from 'yaml';
import { hasControlCharacters, visibleLine } from '../terminal-text.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A missing value in a table cell. */
export const NONE = '-';

/** Columns padded to their widest cell plus two spaces; the header is in capitals; no trailing blanks. */
export function renderTable(headers: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => headers.map((_, i) => cellText(row[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd() + '\n').join('');
}

// One line per row: a line break or tab the API sends in a cell is shown, not obeyed.
function cellText(value: string | number | undefined): string {
  return value === undefined || value === '' ? NONE : visibleLine(String(value));
}

/** One value as indented JSON or a YAML document. */
export function renderValue(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

// lineWidth 0: never fold long strings (ARNs, details), so the output stays greppable. A string
// with a control character is double-quoted, where the `\uXXXX` main.ts writes for it is its escape
// (in a block scalar it would be literal text, and a re-applied document would change).
function toYaml(value: unknown): string {
  const document = new Document(value);
  visit(document, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && hasControlCharacters(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return document.toString({ lineWidth: 0 });
}

/** One line per task label tag the entry does not carry, for the text under a table. */
export function droppedLabelLines(dropped: readonly { key: string; reason: string }[] = []): string[] {
  return dropped.map((d) => `dropped task label ${d.key}: ${d.reason}`);
}
