/**
 * CloudFormation YAML templates (deploy/member-account-role.yaml, examples/) in the JSON form
 * test/support/cloudformation.ts resolves: each short-form tag (`!Ref x`, `!If [...]`) kept as its
 * long form (`{ Ref: x }`, `{ 'Fn::If': [...] }`).
 */
import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';
import type { Template } from './cloudformation.js';

export const CFN_TAGS: Tags = ['Ref', 'Condition', 'Sub', 'GetAtt', 'If', 'Not', 'Equals', 'And', 'Or', 'Join', 'Select', 'Split'].flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: unknown) => ({ [key]: value }) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (value: { toJSON(): unknown }) => ({ [key]: value.toJSON() }) },
  ];
});

export function readCloudFormationYaml(path: string): Template {
  return parse(readFileSync(path, 'utf8'), { customTags: CFN_TAGS }) as Template;
}
