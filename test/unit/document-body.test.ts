import { describe, expect, it } from 'vitest';
import { readDocumentBody } from '../../functions/policies/document-body.js';
import { MAX_YAML_ALIAS_COUNT } from '../../shared/core/yaml-value.js';

const yamlBody = (body: string) => ({ body, isBase64Encoded: false, headers: { 'content-type': 'application/yaml' } });
const usesOf = (uses: number) => `a: &a [x]\nb: [${Array(uses).fill('*a').join(', ')}]\n`;

describe('readDocumentBody', () => {
  it('expands aliases a policy may reasonably use', () => {
    const read = readDocumentBody(yamlBody("accounts: &accounts ['123456789012']\nfirst: *accounts\nsecond: *accounts\n"));

    expect(read).toEqual({ ok: true, document: { accounts: ['123456789012'], first: ['123456789012'], second: ['123456789012'] } });
  });

  it(`accepts an anchored node that appears ${MAX_YAML_ALIAS_COUNT} times in all and refuses one more alias with 413`, () => {
    expect(readDocumentBody(yamlBody(usesOf(MAX_YAML_ALIAS_COUNT - 1))).ok).toBe(true);

    expect(readDocumentBody(yamlBody(usesOf(MAX_YAML_ALIAS_COUNT)))).toMatchObject({ ok: false, status: 413, reason: 'DOCUMENT_TOO_LARGE' });
  });

  it('still answers an unknown anchor as malformed YAML', () => {
    expect(readDocumentBody(yamlBody('a: *nowhere\n'))).toMatchObject({ ok: false, status: 400, reason: 'MALFORMED_BODY', message: expect.stringContaining('Unresolved alias') });
  });
});
