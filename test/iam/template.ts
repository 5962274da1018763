/**
 * The functions' roles as the generated CloudFormation template defines them, resolved (by
 * test/support/cloudformation.ts) to the concrete policy documents CloudFormation would create,
 * in the account the integration tests' calls are recorded in.
 */
import { resolve, type Json, type Resolution, type Template } from '../support/cloudformation.js';
import { ACCOUNT } from './iam-requests.js';

export type { Template } from '../support/cloudformation.js';

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Json;
}
export interface RolePolicy {
  roleId: string;
  roleArn: string;
  statements: Statement[];
}

/** The role of a serverless.yml function (`taskEvents` → TaskEventsLambdaFunction's Role). */
export function roleIdOf(t: Template, fn: string): string {
  const id = `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`;
  const role = t.Resources[id]?.Properties.Role;
  const roleId = role?.['Fn::GetAtt']?.[0] as string | undefined;
  if (!roleId) throw new Error(`${id}: no Role of this template's own`);
  return roleId;
}

/** Every function of the template (the keys of serverless.yml's `functions`). */
export function functionsOf(t: Template): string[] {
  return Object.entries(t.Resources)
    .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.endsWith('LambdaFunction'))
    .map(([id]) => `${id[0]!.toLowerCase()}${id.slice(1, -'LambdaFunction'.length)}`)
    .sort();
}

/** The function's role with its inline policies resolved for `r`. */
export function rolePolicy(t: Template, fn: string, r: Omit<Resolution, 'account'>): RolePolicy {
  const roleId = roleIdOf(t, fn);
  const role = t.Resources[roleId]!;
  const inAccount: Resolution = { params: r.params, names: r.names, account: ACCOUNT };
  // Managed policies only come with the VPC setting (AWS's ENI policy); a stack that has one in
  // the resolved template is not modelled, and says so.
  const { ManagedPolicyArns: managed } = resolve({ ManagedPolicyArns: role.Properties.ManagedPolicyArns }, t, inAccount) as { ManagedPolicyArns?: unknown };
  if (Array.isArray(managed) ? managed.length > 0 : managed !== undefined) throw new Error(`${roleId}: managed policies are not modelled`);
  const policies = resolve(role.Properties.Policies ?? [], t, inAccount) as { PolicyDocument: { Statement: Statement[] } }[];
  const roleArn = resolve({ 'Fn::GetAtt': [roleId, 'Arn'] }, t, inAccount) as string;
  return { roleId, roleArn, statements: policies.flatMap((p) => p.PolicyDocument.Statement) };
}

/** A role of another template (deploy/member-account-role.yaml) with its inline policies resolved in `r.account`. */
export function memberRolePolicy(t: Template, roleId: string, r: Resolution): RolePolicy {
  const role = t.Resources[roleId]!;
  const policies = resolve(role.Properties.Policies ?? [], t, r) as { PolicyDocument: { Statement: Statement[] } }[];
  const name = (resolve(role.Properties.RoleName ?? roleId, t, r) as string) || roleId;
  return { roleId, roleArn: `arn:aws:iam::${r.account ?? ACCOUNT}:role/${name}`, statements: policies.flatMap((p) => p.PolicyDocument.Statement) };
}
