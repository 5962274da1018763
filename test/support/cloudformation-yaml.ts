/**
 * A CloudFormation YAML template (deploy/member-account-role.yaml, examples/) as the JSON form
 * test/support/cloudformation.ts resolves: each short-form tag (`!Ref x`, `!If [...]`) becomes its
 * long form (`{ Ref: x }`, `{ 'Fn::If': [...] }`).
 */
import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';
import type { Template } from './cloudformation.js';

const FUNCTIONS = ['Base64', 'Cidr', 'Equals', 'FindInMap', 'GetAZs', 'If', 'ImportValue', 'Join', 'Not', 'And', 'Or', 'Select', 'Split', 'Sub', 'Condition'];

const longForm = (tag: string) => (tag === 'Ref' || tag === 'Condition' ? tag : `Fn::${tag}`);

const customTags: Tags = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) },
  // `!GetAtt Role.Arn` is `{ 'Fn::GetAtt': ['Role', 'Arn'] }`.
  { tag: '!GetAtt', resolve: (value: string) => ({ 'Fn::GetAtt': value.split('.') }) },
  ...FUNCTIONS.flatMap((name) => [
    { tag: `!${name}`, resolve: (value: string) => ({ [longForm(name)]: value }) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (value: { toJSON: () => unknown }) => ({ [longForm(name)]: value.toJSON() }) },
  ]),
];

export function readCloudFormationYaml(path: string): Template {
  return parse(readFileSync(path, 'utf8'), { customTags }) as Template;
}
