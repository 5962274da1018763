import { describe, expect, it } from 'vitest';
import { renderList, renderTable, renderValue } from '../../cli/mesh/output.js';

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

describe('renderValue and renderList', () => {
  it('prints indented JSON and block YAML without folding long strings', () => {
    const arn = `arn:aws:sts::123456789012:assumed-role/${'x'.repeat(100)}/alice`;

    expect(renderValue({ a: [1] }, 'json')).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(renderValue({ by: arn }, 'yaml')).toBe(`by: ${arn}\n`);
  });

  it('prints a list as a JSON array or a YAML stream, and nothing for an empty YAML stream', () => {
    expect(renderList([{ a: 1 }, { b: 2 }], 'yaml')).toBe('a: 1\n---\nb: 2\n');
    expect(renderList([], 'json')).toBe('[]\n');
    expect(renderList([], 'yaml')).toBe('');
  });
});
