/**
 * The functions' roles as the generated CloudFormation template defines them, resolved to the
 * concrete policy documents CloudFormation would create: Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
 * Fn::Split, Fn::Select and Fn::If on the template's own parameters, conditions and resources,
 * with a fixed account and region. An intrinsic it does not know fails loudly.
 */
import { ACCOUNT, PARTITION, REGION } from './iam-requests.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface Template {
  Parameters: Record<string, { Default?: string | number }>;
  Conditions: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties: Json }>;
}

/** What Refs resolve to: parameter values and physical resource names by logical id. */
export interface Resolution {
  params?: Record<string, string>;
  names?: Record<string, string>;
}

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

const NO_VALUE = Symbol('AWS::NoValue');
const PSEUDO: Record<string, string> = { 'AWS::Partition': PARTITION, 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'ecs-mesh-onboarding-ci' };

/** The physical ARN CloudFormation returns for `Fn::GetAtt [id, Arn]`, for the types the roles reference. */
function arnOf(t: Template, id: string, r: Resolution): string {
  const resource = t.Resources[id];
  if (!resource) throw new Error(`Fn::GetAtt: no resource ${id}`);
  const name = r.names?.[id] ?? id;
  switch (resource.Type) {
    case 'AWS::DynamoDB::Table':
      return `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
    case 'AWS::SQS::Queue':
      return `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${name}`;
    case 'AWS::Logs::LogGroup':
      return `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${String(resolve(resource.Properties.LogGroupName, t, r))}:*`;
    case 'AWS::IAM::Role':
      return `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`;
    default:
      throw new Error(`Fn::GetAtt ${id}.Arn: resource type ${resource.Type} not modelled`);
  }
}

function ref(name: string, t: Template, r: Resolution): Json {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name in PSEUDO) return PSEUDO[name];
  if (t.Parameters[name]) return r.params?.[name] ?? String(t.Parameters[name].Default ?? '');
  const resource = t.Resources[name];
  if (!resource) throw new Error(`Ref: no parameter or resource ${name}`);
  // A table's Ref is its name; a queue's, its URL.
  if (resource.Type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${r.names?.[name] ?? name}`;
  return r.names?.[name] ?? name;
}

function condition(name: string, t: Template, r: Resolution): boolean {
  const c = t.Conditions[name];
  if (c === undefined) throw new Error(`no condition ${name}`);
  return Boolean(resolve(c, t, r));
}

/** Evaluates every intrinsic function in `node`. */
export function resolve(node: Json, t: Template, r: Resolution): Json {
  const ev = (n: Json): Json => resolve(n, t, r);
  if (Array.isArray(node)) return node.map(ev).filter((n) => n !== NO_VALUE);
  if (node === null || typeof node !== 'object') return node;
  const keys = Object.keys(node);
  const [key] = keys;
  if (keys.length === 1 && (key === 'Ref' || key === 'Condition' || key!.startsWith('Fn::'))) {
    const arg = node[key!];
    switch (key) {
      case 'Ref':
        return ref(arg, t, r);
      case 'Condition':
        return condition(arg, t, r);
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof arg === 'string' ? arg.split('.') : arg;
        if (attribute !== 'Arn') throw new Error(`Fn::GetAtt ${id}.${attribute} not modelled`);
        return arnOf(t, id, r);
      }
      case 'Fn::Join':
        return (ev(arg[1]) as string[]).join(arg[0]);
      case 'Fn::Split':
        return (ev(arg[1]) as string).split(arg[0]);
      case 'Fn::Select':
        return ev(arg[1])[Number(ev(arg[0]))];
      case 'Fn::Equals':
        return ev(arg[0]) === ev(arg[1]);
      case 'Fn::Not':
        return !ev(arg[0]);
      case 'Fn::And':
        return (arg as Json[]).every((c) => ev(c));
      case 'Fn::Or':
        return (arg as Json[]).some((c) => ev(c));
      case 'Fn::If':
        return condition(arg[0], t, r) ? ev(arg[1]) : ev(arg[2]);
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : [arg[0] as string, ev(arg[1]) as Record<string, string>];
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (name in vars) return String(vars[name]);
          const [id, attribute] = name.split('.');
          return attribute ? String(ev({ 'Fn::GetAtt': [id, attribute] })) : String(ref(name, t, r));
        });
      }
      default:
        throw new Error(`intrinsic ${key} not modelled`);
    }
  }
  return Object.fromEntries(
    Object.entries(node)
      .map(([k, v]) => [k, ev(v)])
      .filter(([, v]) => v !== NO_VALUE),
  );
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
export function rolePolicy(t: Template, fn: string, r: Resolution): RolePolicy {
  const roleId = roleIdOf(t, fn);
  const role = t.Resources[roleId]!;
  // Managed policies only come with the VPC setting (AWS's ENI policy); a stack that has one in
  // the resolved template is not modelled, and says so.
  const managed = role.Properties.ManagedPolicyArns === undefined ? undefined : resolve(role.Properties.ManagedPolicyArns, t, r);
  if (Array.isArray(managed) ? managed.length > 0 : managed !== undefined && managed !== NO_VALUE) throw new Error(`${roleId}: managed policies are not modelled`);
  const policies = resolve(role.Properties.Policies ?? [], t, r) as { PolicyDocument: { Statement: Statement[] } }[];
  return { roleId, roleArn: arnOf(t, roleId, r), statements: policies.flatMap((p) => p.PolicyDocument.Statement) };
}
