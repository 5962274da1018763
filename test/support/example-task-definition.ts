/**
 * The example service's CloudFormation template (examples/ecs-service/template.yaml) as ECS would
 * run it: its short-form intrinsics parsed, and a container's definition resolved with given
 * parameters (test/support/cloudformation.ts `resolve`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, type Tags } from 'yaml';
import { resolve, type Json, type Template } from './cloudformation.js';

export const EXAMPLE_TEMPLATE_PATH = fileURLToPath(new URL('../../examples/ecs-service/template.yaml', import.meta.url));

// CloudFormation's short forms, kept as their long forms ({ "Fn::Sub": ... }).
export const CFN_TAGS: Tags = ['Ref', 'Sub', 'GetAtt', 'If', 'Not', 'Equals', 'Select', 'Split'].flatMap((name) => {
  const key = name === 'Ref' ? 'Ref' : `Fn::${name}`;
  return [
    { tag: `!${name}`, resolve: (value: unknown) => ({ [key]: value }) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (value: { toJSON(): unknown }) => ({ [key]: value.toJSON() }) },
  ];
});

export function exampleTemplate(): Template {
  return parseYaml(readFileSync(EXAMPLE_TEMPLATE_PATH, 'utf8'), { customTags: CFN_TAGS }) as Template;
}

/** One container of the task definition, every intrinsic resolved with `params` (the rest at their defaults). */
export function exampleContainer(name: string, params: Record<string, string>): Json {
  const template = exampleTemplate();
  const containers = template.Resources.TaskDefinition!.Properties.ContainerDefinitions as Json[];
  const container = containers.find((c) => c.Name === name);
  if (!container) throw new Error(`examples/ecs-service/template.yaml has no container ${name}`);
  return resolve(container, template, { params });
}

/** A container's Environment as a map. */
export function containerEnvironment(container: Json): Record<string, string> {
  return Object.fromEntries((container.Environment as { Name: string; Value: string }[]).map((e) => [e.Name, String(e.Value)]));
}
