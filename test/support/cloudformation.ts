/**
 * Reading the CloudFormation template `osls package` renders: the intrinsic functions it uses,
 * evaluated for given parameters, and each function's environment as Lambda would see it.
 * Shared by the packaging test and `npm run bench bundles` (which imports each bundle with it).
 */
export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface Template {
  Parameters: Record<string, { Default?: string }>;
  Conditions: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties: Json; DependsOn?: Json; DeletionPolicy?: string }>;
  Outputs: Record<string, { Value: Json }>;
}

/** Evaluates the intrinsic functions this template uses, for given parameter values and conditions. */
export function evaluate(node: Json, t: Template, params: Record<string, string>): Json {
  const ev = (n: Json): Json => evaluate(n, t, params);
  if (Array.isArray(node)) return node.map(ev).filter((n) => n !== NO_VALUE);
  if (node === null || typeof node !== 'object') return node;
  const [key] = Object.keys(node);
  const arg = node[key!];
  switch (key) {
    case 'Ref':
      if (arg === 'AWS::NoValue') return NO_VALUE;
      if (arg in PSEUDO) return PSEUDO[arg];
      if (arg in params) return params[arg];
      if (t.Parameters[arg]) return t.Parameters[arg].Default ?? '';
      return `ref:${arg}`;
    case 'Fn::GetAtt':
      return `getatt:${arg.join('.')}`;
    case 'Fn::Join':
      return (ev(arg[1]) as string[]).join(arg[0]);
    case 'Fn::Split':
      return (ev(arg[1]) as string).split(arg[0]);
    case 'Fn::Select':
      return ev(arg[1])[arg[0]];
    case 'Fn::Equals':
      return ev(arg[0]) === ev(arg[1]);
    case 'Fn::Not':
      return !ev(arg[0]);
    case 'Fn::And':
      return (arg as Json[]).every((c) => ev(c));
    case 'Fn::If':
      return ev(t.Conditions[arg[0]]) ? ev(arg[1]) : ev(arg[2]);
    case 'Fn::Sub':
      return (arg as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => String(ev({ Ref: name })));
    default:
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, ev(v)]).filter(([, v]) => v !== NO_VALUE));
  }
}
const NO_VALUE = Symbol('AWS::NoValue');
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '111122223333', 'AWS::URLSuffix': 'amazonaws.com' };

/** A function's environment on AWS: the template's variables, resolved, plus what Lambda itself sets. */
export function lambdaEnvironment(t: Template, id: string): Record<string, string> {
  const variables = evaluate(t.Resources[id]!.Properties.Environment.Variables, t, { HttpApi: 'a1b2c3d4e5' }) as Record<string, unknown>;
  return { ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])), AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
}

