/**
 * The example service's CloudFormation template (examples/ecs-service/template.yaml) as ECS would
 * run it: its short-form intrinsics parsed, and a container's definition resolved with given
 * parameters (test/support/cloudformation.ts `resolve`).
 */
import { fileURLToPath } from 'node:url';
import { CFN_TAGS, readCloudFormationYaml } from './cloudformation-yaml.js';
import { resolve, type Json, type Template } from './cloudformation.js';

export const EXAMPLE_TEMPLATE_PATH = fileURLToPath(new URL('../../examples/ecs-service/template.yaml', import.meta.url));

export { CFN_TAGS };

export function exampleTemplate(): Template {
  return readCloudFormationYaml(EXAMPLE_TEMPLATE_PATH);
}

/** One container of the task definition, every intrinsic resolved with `params` (the rest at their defaults). */
export function exampleContainer(name: string, params: Record<string, string>): Json {
  const template = exampleTemplate();
  const containers = template.Resources.TaskDefinition!.Properties.ContainerDefinitions as Json[];
  const container = containers.find((c) => c.Name === name);
  if (!container) throw new Error(`examples/ecs-service/template.yaml has no container ${name}`);
  return resolve(container, template, { params });
}
