import { describe, expect, it } from 'vitest';
import { renderTable, renderValue } from '../../cli/mesh/output.js';

describe('renderTable', () => {
  it('pads each column to its widest cell plus two spaces, capitalises the header and leaves no trailing blanks', () => {
    const table = renderTable(['name', 'revision', 'by'], [
      ['allow-ratings', 12, 'alice'],
      ['a', undefined, ''],
    ]);

    expect(table).toBe('NAME           REVISION  BY\nallow-ratings  12        alice\na              -         -\n');
  });

  it('prints only the header for no rows', () => {
    expect(renderTable(['task', 'phase'], [])).toBe('TASK  PHASE\n');
  });
});

describe('renderValue', () => {
  it('prints indented JSON and block YAML without folding long strings', () => {
    const arn = `arn:aws:sts::123456789012:assumed-role/${'x'.repeat(100)}/alice`;

    expect(renderValue({ a: [1] }, 'json')).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(renderValue({ by: arn }, 'yaml')).toBe(`by: ${arn}\n`);
  });
});
