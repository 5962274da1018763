/**
 * Text from the API (a DLQ body, a stop reason, an error message) ends up on an operator's
 * terminal, and control characters in it would act rather than show: ESC and the C1 CSI/OSC
 * start sequences that move the cursor, clear the screen or retitle the window, CR and backspace
 * overwrite what was printed, and the bidi overrides and isolates reorder what is read. Each is
 * written as `\uXXXX` instead. In JSON strings and YAML double-quoted ones that is the very
 * escape of the same character, so `-o json|yaml` output still parses to the same values.
 */

// C0 but LF and TAB, DEL, C1, and the bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069).
// eslint-disable-next-line no-control-regex -- matching control characters is this module's job
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// The same, with LF and TAB: what must not break a line or a column.
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_OR_LAYOUT = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with its control characters shown as `\uXXXX`; line breaks and tabs are kept. */
export function visibleText(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** Whether `text` holds a character visibleText escapes. */
export function hasControlCharacters(text: string): boolean {
  return text.search(CONTROL) !== -1;
}

/** `text` on one line: line breaks and tabs are shown as `\uXXXX` too. */
export function visibleLine(text: string): string {
  return text.replace(CONTROL_OR_LAYOUT, escaped);
}
