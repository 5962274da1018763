import { describe, expect, it } from 'vitest';
import { validatePolicyDocument } from '../../shared/core/policy-validation.js';
import { protoKeyProblems } from '../../shared/core/validation-problems.js';
import { aPolicy } from '../fixtures/builders.js';

/** The document as JSON.parse gives it, so `__proto__` keys stay own keys. */
const parsed = (json: string): unknown => JSON.parse(json);
const policyJson = (patch: (json: string) => string) => parsed(patch(JSON.stringify(aPolicy())));

describe('validatePolicyDocument', () => {
  it.each([
    { case: 'matchLabels', patch: (j: string) => j.replace('"matchLabels":{', '"matchLabels":{"__proto__":"x",'), pointer: '/spec/allow/0/onboardTo/0/workloadGroupSelector/matchLabels/__proto__' },
    { case: 'iamRoleTags', patch: (j: string) => j.replace('"iamRoleTags":{', '"iamRoleTags":{"__proto__":[],'), pointer: '/spec/allow/0/workloads/0/aws/ecs/iamRoleTags/__proto__' },
    { case: 'metadata.labels', patch: (j: string) => j.replace('"metadata":{', '"metadata":{"labels":{"__proto__":"x"},'), pointer: '/metadata/labels/__proto__' },
    { case: 'metadata.annotations', patch: (j: string) => j.replace('"metadata":{', '"metadata":{"annotations":{"__proto__":"x"},'), pointer: '/metadata/annotations/__proto__' },
    { case: 'a strict object', patch: (j: string) => j.replace('"spec":{', '"spec":{"__proto__":{},'), pointer: '/spec/__proto__' },
  ])('refuses a __proto__ key in $case at its pointer, once', ({ patch, pointer }) => {
    const result = validatePolicyDocument(policyJson(patch));

    expect(result).toEqual({ ok: false, problems: [{ pointer, message: expect.stringContaining('__proto__') }] });
  });

  it('keeps keys named like other Object.prototype members exactly as sent', () => {
    const document = policyJson((j) => j.replace('"matchLabels":{', '"matchLabels":{"constructor":"x","toString":"y",').replace('"iamRoleTags":{', '"iamRoleTags":{"valueOf":[],'));

    const result = validatePolicyDocument(document);

    expect(result.ok && JSON.stringify(result.policy)).toBe(JSON.stringify(document));
  });
});

describe('protoKeyProblems', () => {
  it('finds a __proto__ key below 50,000 levels of nesting without overflowing the stack', () => {
    const deep = parsed(`${'['.repeat(50_000)}{"__proto__":1}${']'.repeat(50_000)}`);

    expect(protoKeyProblems(deep)).toEqual([{ pointer: '/0'.repeat(50_000 - 1) + '/0/__proto__', message: expect.any(String) }]);
  });

  it('ends on a document that contains itself, as a YAML alias inside its own anchor makes one', () => {
    const loop: Record<string, unknown> = parsed('{"__proto__":1}') as Record<string, unknown>;
    loop.self = loop;

    expect(protoKeyProblems(loop)).toEqual([{ pointer: '/__proto__', message: expect.any(String) }]);
  });

  it('escapes the pointer of a key inside a label named with a slash', () => {
    expect(protoKeyProblems(parsed('{"a/b":{"__proto__":1}}'))).toEqual([{ pointer: '/a~1b/__proto__', message: expect.any(String) }]);
  });
});
