/**
 * Reading the CloudFormation template `osls package` renders, as CloudFormation would resolve it:
 * Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split, Fn::Select, the condition functions and Fn::If
 * on the template's own parameters, conditions and resources, with a fixed account and region.
 * An intrinsic it does not know fails loudly. Shared by the packaging test, the least-privilege
 * check (test/iam/template.ts) and `npm run bench bundles` (which imports each bundle with it).
 */
export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface Template {
  Parameters: Record<string, { Default?: string | number }>;
  Conditions: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties: Json; DependsOn?: Json; DeletionPolicy?: string }>;
  Outputs: Record<string, { Value: Json }>;
}

/** What Refs resolve to: parameter values, physical resource names by logical id, and the account. */
export interface Resolution {
  params?: Record<string, string>;
  /** A resource's Ref (and the name in its ARN); the logical id where not given. */
  names?: Record<string, string>;
  /** AWS::AccountId; a documentation account where not given. */
  account?: string;
}

export const PARTITION = 'aws';
export const REGION = 'us-east-1';
const DEFAULT_ACCOUNT = '111122223333';
const NO_VALUE = Symbol('AWS::NoValue');

function pseudo(name: string, r: Resolution): string | undefined {
  const values: Record<string, string> = { 'AWS::Partition': PARTITION, 'AWS::Region': REGION, 'AWS::AccountId': r.account ?? DEFAULT_ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'ecs-mesh-onboarding-ci' };
  return values[name];
}

/** The physical ARN CloudFormation returns for `Fn::GetAtt [id, Arn]`, for the types the template references (QueueName, the one other attribute modelled, is resolved in place). */
function arnOf(t: Template, id: string, r: Resolution): string {
  const resource = t.Resources[id];
  if (!resource) throw new Error(`Fn::GetAtt: no resource ${id}`);
  const name = r.names?.[id] ?? id;
  const account = r.account ?? DEFAULT_ACCOUNT;
  switch (resource.Type) {
    case 'AWS::DynamoDB::Table':
      return `arn:${PARTITION}:dynamodb:${REGION}:${account}:table/${name}`;
    case 'AWS::SQS::Queue':
      return `arn:${PARTITION}:sqs:${REGION}:${account}:${name}`;
    case 'AWS::Logs::LogGroup':
      return `arn:${PARTITION}:logs:${REGION}:${account}:log-group:${String(resolve(resource.Properties.LogGroupName, t, r))}:*`;
    case 'AWS::IAM::Role':
      return `arn:${PARTITION}:iam::${account}:role/${name}`;
    default:
      throw new Error(`Fn::GetAtt ${id}.Arn: resource type ${resource.Type} not modelled`);
  }
}

function ref(name: string, t: Template, r: Resolution): Json {
  if (name === 'AWS::NoValue') return NO_VALUE;
  const value = pseudo(name, r);
  if (value !== undefined) return value;
  if (t.Parameters[name]) return r.params?.[name] ?? String(t.Parameters[name].Default ?? '');
  const resource = t.Resources[name];
  if (!resource) throw new Error(`Ref: no parameter or resource ${name}`);
  // A table's Ref is its name; a queue's, its URL.
  if (resource.Type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${r.account ?? DEFAULT_ACCOUNT}/${r.names?.[name] ?? name}`;
  return r.names?.[name] ?? name;
}

function condition(name: string, t: Template, r: Resolution): boolean {
  const c = t.Conditions[name];
  if (c === undefined) throw new Error(`no condition ${name}`);
  return Boolean(resolve(c, t, r));
}

/** Evaluates every intrinsic function in `node`; AWS::NoValue drops the key or item it stands for. */
export function resolve(node: Json, t: Template, r: Resolution = {}): Json {
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
        if (attribute === 'Arn') return arnOf(t, id, r);
        if (attribute === 'QueueName' && t.Resources[id]?.Type === 'AWS::SQS::Queue') return r.names?.[id] ?? id;
        throw new Error(`Fn::GetAtt ${id}.${attribute} not modelled`);
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

/** A function's environment on AWS: the template's variables, resolved, plus what Lambda itself sets. */
export function lambdaEnvironment(t: Template, id: string): Record<string, string> {
  const variables = resolve(t.Resources[id]!.Properties.Environment.Variables, t, { names: { HttpApi: 'a1b2c3d4e5' } }) as Record<string, unknown>;
  return { ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])), AWS_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true' };
}
