/**
 * The WorkloadEntry our enrollment writes for one task of the example's group
 * (examples/ecs-service/istio/workloadgroup.yaml), built by the production builder.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { WorkloadEntry, WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { buildWorkloadEntry } from '../../shared/core/workload-entry.js';

export const EXAMPLE_TASK_ID = '0123456789abcdef0123456789abcdef';

/** A manifest of examples/ecs-service/istio/, parsed. */
export function exampleIstioManifest(file: string): unknown {
  return parseYaml(readFileSync(new URL(`../../examples/ecs-service/istio/${file}`, import.meta.url), 'utf8'));
}

/** The entry for task EXAMPLE_TASK_ID at 10.0.1.23 in eu-west-1a, of `group` (give it a uid for the owner reference). */
export function exampleTaskEntry(group: WorkloadGroup): WorkloadEntry {
  return buildWorkloadEntry({
    group,
    taskId: EXAMPLE_TASK_ID,
    taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/prod/${EXAMPLE_TASK_ID}`,
    clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
    taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/ratings:7',
    eventVersion: 3,
    address: '10.0.1.23',
    region: 'eu-west-1',
    zone: 'eu-west-1a',
    taskTags: {},
    deployment: 'test',
  });
}
