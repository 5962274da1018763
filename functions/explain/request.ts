/**
 * The body of `POST /v1/explain`, validated at the edge: a task ARN, or an identity (account,
 * region, zone, cluster, role ARN or role name, optionally the role's tags), plus a group.
 */
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { ECS_CLUSTER_NAME as CLUSTER, IAM_ROLE_NAME as ROLE_NAME, LABEL_KEY, LABEL_VALUE, REGION_SHAPE as REGION, ZONE_SHAPE as ZONE, namespaceName, objectName } from '../../shared/core/schemas.js';
import type { ExplainRequest } from '../../shared/app/explain-decision.js';
import { clusterNameFromTaskArn } from '../../shared/core/task.js';
import { problemsOf, sortByPointer, withProtoKeyProblems, type ValidationProblem } from '../../shared/core/validation-problems.js';

const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\x21-\x7e]{0,510}\/)?([\w+=,.@-]{1,64})$/;
const TASK_ARN = /^arn:(aws|aws-cn|aws-us-gov):ecs:[a-z0-9-]{1,25}:\d{12}:task\/[A-Za-z0-9_-]{1,255}(\/[A-Za-z0-9-]{1,64})?$/;

const tags = z.record(z.string().check(z.minLength(1), z.maxLength(128)), z.string().check(z.maxLength(256)));
const labels = z.record(z.string().check(z.regex(LABEL_KEY, 'must be a Kubernetes label key')), z.string().check(z.regex(LABEL_VALUE, 'must be a Kubernetes label value')));
/** `<namespace>/<name>`, each part as Kubernetes takes it (and so bounded, as the object form is). */
const isGroupName = (value: string) => {
  const [namespace, name, ...rest] = value.split('/');
  return rest.length === 0 && namespaceName.safeParse(namespace).success && objectName.safeParse(name).success;
};
const groupRef = z.union([
  z.string().check(z.refine(isGroupName, 'must be <namespace>/<name>: a DNS-1123 label of at most 63 characters, then a DNS-1123 subdomain of at most 253')),
  z.strictObject({ namespace: namespaceName, name: objectName }),
]);

const Identity = z
  .strictObject({
    partition: z._default(z.enum(['aws', 'aws-cn', 'aws-us-gov']), 'aws'),
    account: z.string().check(z.regex(ACCOUNT, 'must be a 12-digit account id')),
    region: z.string().check(z.regex(REGION, 'must be a region name such as us-east-2')),
    zone: z.optional(z.string().check(z.regex(ZONE, 'must be an availability zone name such as us-east-2b'))),
    cluster: z.string().check(z.regex(CLUSTER, 'must be an ECS cluster name')),
    launchType: z.optional(z.enum(['FARGATE', 'EC2', 'EXTERNAL'])),
    roleArn: z.optional(z.string().check(z.regex(ROLE_ARN, 'must be an IAM role ARN'))),
    roleName: z.optional(z.string().check(z.regex(ROLE_NAME, 'must be an IAM role name'))),
    roleTags: z.optional(tags),
  })
  .check(
    z.superRefine((identity, ctx) => {
      if ((identity.roleArn === undefined) === (identity.roleName === undefined))
        ctx.addIssue({ code: 'custom', input: identity, path: ['roleArn'], message: 'give exactly one of roleArn or roleName' });
      const roleAccount = identity.roleArn ? ROLE_ARN.exec(identity.roleArn)?.[2] : undefined;
      // ECS task roles live in the task's account; another account's role can never be a task's.
      if (roleAccount && roleAccount !== identity.account)
        ctx.addIssue({ code: 'custom', input: identity, path: ['roleArn'], message: `is in account ${roleAccount}, not the identity's account ${identity.account}` });
    }),
  );

const ExplainBody = z
  .strictObject({
    taskArn: z.optional(z.string().check(z.regex(TASK_ARN, 'must be an ECS task ARN'))),
    cluster: z.optional(z.string().check(z.regex(CLUSTER, 'must be an ECS cluster name'))),
    identity: z.optional(Identity),
    group: z.optional(groupRef),
    groupLabels: z.optional(labels),
  })
  .check(
    z.superRefine((body, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', input: body, path: [path], message });
      if ((body.taskArn === undefined) === (body.identity === undefined)) issue('taskArn', 'give exactly one of taskArn or identity');
      if (body.taskArn && !clusterNameFromTaskArn(body.taskArn) && !body.cluster) issue('cluster', 'required with a short task ARN (task/<id>), which does not name its cluster');
      if (body.taskArn && body.groupLabels) issue('groupLabels', 'only with an identity: a task is evaluated against its WorkloadGroup as it is');
    }),
  );

export type ParsedExplainRequest = { ok: true; request: ExplainRequest } | { ok: false; problems: ValidationProblem[] };

export function parseExplainRequest(body: unknown): ParsedExplainRequest {
  const parsed = ExplainBody.safeParse(body);
  const problems = withProtoKeyProblems(body, parsed.success ? [] : problemsOf(parsed.error.issues));
  if (!parsed.success || problems.length > 0) return { ok: false, problems: sortByPointer(problems) };
  const { taskArn, cluster, identity, group, groupLabels } = parsed.data;
  const ref = typeof group === 'string' ? { namespace: group.split('/')[0]!, name: group.split('/')[1]! } : group;
  const common = { ...(ref ? { group: ref } : {}), ...(groupLabels ? { groupLabels } : {}) };
  if (taskArn) return { ok: true, request: { subject: { taskArn, clusterName: clusterNameFromTaskArn(taskArn) ?? cluster! }, ...common } };
  const id = identity!;
  const roleArn = id.roleArn ?? `arn:${id.partition}:iam::${id.account}:role/${id.roleName}`;
  return {
    ok: true,
    request: {
      subject: {
        identity: {
          partition: id.partition,
          account: id.account,
          region: id.region,
          ...(id.zone ? { zone: id.zone } : {}),
          cluster: id.cluster,
          ...(id.launchType ? { launchType: id.launchType } : {}),
          role: { arn: roleArn, ...(id.roleTags ? { tags: id.roleTags } : {}) },
        },
      },
      ...common,
    },
  };
}
