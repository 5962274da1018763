/**
 * The command line, parsed with node:util's parseArgs into one typed invocation. Global flags may
 * appear anywhere; each command accepts only its own flags, so a typo is a usage error rather than
 * a silently ignored option. A new flag is one line in OPTIONS plus its name in its commands'
 * `options`; its --help text is a line in usage.ts's FLAG_HELP.
 */
import { parseArgs } from 'node:util';
import { namespaceName, objectName } from '../../shared/core/schemas.js';
import type { EnrollmentQuery, ExplainIdentity, ExplainRequest, ReconcileRequest } from './api-client.js';
import { UsageError } from './errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { EXPORT_FORMATS, type ExportFormat, type KeySelection } from './commands/keys.js';

const TOKEN_PROFILES = ['istio', 'kuma'] as const;

const OPTIONS = {
  'api-url': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
  namespace: { type: 'string', short: 'n' },
  file: { type: 'string', short: 'f', multiple: true },
  'if-match': { type: 'string' },
  limit: { type: 'string' },
  phase: { type: 'string' },
  cluster: { type: 'string' },
  'task-arn': { type: 'string' },
  account: { type: 'string' },
  'identity-region': { type: 'string' },
  zone: { type: 'string' },
  partition: { type: 'string' },
  'role-arn': { type: 'string' },
  'role-name': { type: 'string' },
  'role-tag': { type: 'string', multiple: true },
  'launch-type': { type: 'string' },
  group: { type: 'string' },
  'group-label': { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  repair: { type: 'string' },
  // Not --profile: that global flag names the AWS profile the CLI signs with.
  'token-profile': { type: 'string' },
  format: { type: 'string' },
  kid: { type: 'string' },
  emergency: { type: 'boolean' },
  'next-token': { type: 'string' },
  all: { type: 'boolean' },
} as const;

export type OptionName = keyof typeof OPTIONS;
type Values = ReturnType<typeof parse>['values'];

const GLOBAL_OPTIONS: readonly OptionName[] = ['api-url', 'region', 'profile', 'output', 'help'];
const IDENTITY_OPTIONS = ['account', 'identity-region', 'zone', 'partition', 'role-arn', 'role-name', 'role-tag', 'launch-type'] as const;
const LAUNCH_TYPES = ['FARGATE', 'EC2', 'EXTERNAL'];

export interface PolicyRef {
  namespace: string;
  name: string;
}

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export type Command =
  | { name: 'help'; topic?: string }
  | { name: 'version' }
  | { name: 'completion'; shell: Shell }
  | { name: 'policy apply'; files: string[]; dryRun: boolean }
  | { name: 'policy diff'; files: string[] }
  | { name: 'policy get'; ref: PolicyRef }
  | { name: 'policy list'; namespace: string }
  | { name: 'policy delete'; ref: PolicyRef; ifMatch?: number }
  | { name: 'policy history'; ref: PolicyRef; limit?: number }
  | { name: 'explain'; request: ExplainRequest }
  | { name: 'enrollments list'; query: EnrollmentQuery; all: boolean }
  | { name: 'enrollments get'; taskId: string }
  | { name: 'reconcile'; request: ReconcileRequest }
  | { name: 'keys list'; selection: KeySelection }
  | { name: 'keys export'; format: ExportFormat; selection: KeySelection }
  | { name: 'keys rotate'; request: { profile?: string; emergency?: boolean } }
  | { name: 'keys revoke'; request: { kid: string; profile?: string } }
  | { name: 'dlq list'; limit?: number }
  | { name: 'dlq replay'; limit?: number };

export interface Invocation {
  apiUrl?: string;
  region?: string;
  profile?: string;
  output: OutputFormat;
  command: Command;
}

export type CommandName = Exclude<Command['name'], 'help'>;

export const COMMANDS: Record<CommandName, { options: readonly OptionName[]; build: (v: Values, args: string[]) => Command }> = {
  version: { options: [], build: (_v, args) => (none(args, 'version'), { name: 'version' }) },
  completion: { options: [], build: (_v, args) => ({ name: 'completion', shell: oneOf(one(args, 'completion', 'SHELL (bash or zsh)'), SHELLS, 'completion SHELL') }) },
  'policy apply': { options: ['file', 'dry-run'], build: (v, args) => (none(args, 'policy apply'), { name: 'policy apply', files: files(v), dryRun: v['dry-run'] ?? false }) },
  'policy diff': { options: ['file'], build: (v, args) => (none(args, 'policy diff'), { name: 'policy diff', files: files(v) }) },
  'policy get': { options: ['namespace'], build: (v, args) => ({ name: 'policy get', ref: policyRef(one(args, 'policy get', 'NAME'), v.namespace) }) },
  'policy list': { options: ['namespace'], build: (v, args) => (none(args, 'policy list'), { name: 'policy list', namespace: namespace(required(v.namespace, '-n NAMESPACE')) }) },
  'policy delete': {
    options: ['namespace', 'if-match'],
    build: (v, args) => ({ name: 'policy delete', ref: policyRef(one(args, 'policy delete', 'NAME'), v.namespace), ...optional('ifMatch', count(v['if-match'], '--if-match', 0)) }),
  },
  'policy history': {
    options: ['namespace', 'limit'],
    build: (v, args) => ({ name: 'policy history', ref: policyRef(one(args, 'policy history', 'NAME'), v.namespace), ...optional('limit', count(v.limit, '--limit', 1)) }),
  },
  explain: { options: ['cluster', 'task-arn', 'group', 'group-label', ...IDENTITY_OPTIONS], build: (v, args) => (none(args, 'explain'), { name: 'explain', request: explainRequest(v) }) },
  'enrollments list': {
    options: ['cluster', 'namespace', 'phase', 'repair', 'limit', 'next-token', 'all'],
    build: (v, args) => {
      none(args, 'enrollments list');
      const query: EnrollmentQuery = { ...optional('cluster', v.cluster), ...optional('namespace', v.namespace), ...optional('phase', v.phase), ...optional('repair', v.repair), ...optional('limit', count(v.limit, '--limit', 1)), ...optional('nextToken', v['next-token']) };
      return { name: 'enrollments list', query, all: v.all ?? false };
    },
  },
  'enrollments get': { options: [], build: (_v, args) => ({ name: 'enrollments get', taskId: taskId(one(args, 'enrollments get', 'TASK_ID_OR_ARN')) }) },
  reconcile: {
    options: ['cluster', 'namespace', 'dry-run'],
    build: (v, args) => {
      none(args, 'reconcile');
      const request: ReconcileRequest = { dryRun: v['dry-run'] ?? false, ...(v.cluster ? { clusters: [v.cluster] } : {}), ...(v.namespace ? { namespace: namespace(v.namespace) } : {}) };
      return { name: 'reconcile', request };
    },
  },
  'dlq list': { options: ['limit'], build: (v, args) => (none(args, 'dlq list'), { name: 'dlq list', ...optional('limit', count(v.limit, '--limit', 1)) }) },
  'dlq replay': { options: ['limit'], build: (v, args) => (none(args, 'dlq replay'), { name: 'dlq replay', ...optional('limit', count(v.limit, '--limit', 1)) }) },
  'keys list': { options: ['token-profile', 'kid'], build: (v, args) => (none(args, 'keys list'), { name: 'keys list', selection: keySelection(v) }) },
  'keys export': {
    options: ['format', 'token-profile', 'kid'],
    build: (v, args) => {
      none(args, 'keys export');
      const format = required(v.format, '--format pem|jwks');
      if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, not ${format}`);
      const selection = keySelection(v);
      // One JWKS trusted by a verifier would let either profile's tokens pass it: never mix them.
      if (format === 'jwks' && selection.profile === undefined) throw new UsageError('--format jwks needs --token-profile istio|kuma: a JWKS of both profiles would let one profile\'s tokens pass the other\'s verifiers');
      return { name: 'keys export', format: format as ExportFormat, selection };
    },
  },
  'keys rotate': {
    options: ['token-profile', 'emergency'],
    build: (v, args) => (none(args, 'keys rotate'), { name: 'keys rotate', request: { ...optional('profile', tokenProfile(v['token-profile'])), ...optional('emergency', v.emergency) } }),
  },
  'keys revoke': {
    options: ['token-profile'],
    build: (v, args) => ({ name: 'keys revoke', request: { kid: one(args, 'keys revoke', 'KID'), ...optional('profile', tokenProfile(v['token-profile'])) } }),
  },
};

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

export { GLOBAL_OPTIONS, OPTIONS };

/** Parses argv (without `node script`); throws UsageError (naming the command, when known). */
export function parseInvocation(argv: string[]): Invocation {
  // Which command the line is for, even if its flags do not parse: a usage error points at its --help.
  const loose = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false });
  const named = commandOf(loose.positionals);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(parseErrorText(error, named.name, argv), named.name ?? named.group);
  }
  const { values, positionals } = parsed;
  const output = values.output ?? 'table';
  if (!isOutputFormat(output)) throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(', ')}, not ${output}`, named.name);
  const globals = { ...optional('apiUrl', values['api-url']), ...optional('region', values.region), ...optional('profile', values.profile), output };
  if (positionals[0] === 'help') return { ...globals, command: { name: 'help', ...optional('topic', topicOf(commandOf(positionals.slice(1)))) } };
  if (values.help || positionals.length === 0) return { ...globals, command: { name: 'help', ...optional('topic', topicOf(named)) } };

  const { name, group, args } = named;
  if (name === undefined) {
    const verbs = Object.keys(COMMANDS).filter((c) => c.startsWith(`${group} `)).map((c) => c.slice(group.length + 1));
    if (verbs.length > 0) throw new UsageError(positionals[1] === undefined ? `${group} needs one of: ${verbs.join(', ')}` : `unknown command: ${group} ${positionals[1]} (${group} has: ${verbs.join(', ')})`, group);
    throw new UsageError(`unknown command: ${positionals.slice(0, 2).join(' ')}`);
  }
  const spec = COMMANDS[name];
  const given = (Object.keys(values) as OptionName[]).filter((o) => values[o] !== undefined && !GLOBAL_OPTIONS.includes(o) && !spec.options.includes(o));
  if (given.length > 0) throw new UsageError(`${name} does not take ${given.map((o) => `--${o}`).join(', ')}`, name);
  if (output !== 'table' && (name === 'policy apply' || name === 'policy diff')) throw new UsageError(`${name} prints one line per document; -o is not supported`, name);
  if (output !== 'table' && name === 'keys export') throw new UsageError('keys export prints the --format asked for; -o is not supported', name);
  try {
    return { ...globals, command: spec.build(values, args) };
  } catch (error) {
    throw error instanceof UsageError && error.command === undefined ? new UsageError(error.message, name) : error;
  }
}

/** The command the positionals name (`policy apply`, `explain`), with its own arguments after it. */
function commandOf(positionals: readonly string[]): { name?: CommandName; group: string; args: string[] } {
  const [group = '', verb, ...rest] = positionals;
  if (isCommandName(group)) return { name: group, group, args: positionals.slice(1) };
  const pair = `${group} ${verb ?? ''}`;
  return isCommandName(pair) ? { name: pair, group, args: rest } : { group, args: [] };
}

/** What `--help` is about: the command, else a group that exists (`policy`), else everything. */
function topicOf(named: { name?: CommandName; group: string }): string | undefined {
  if (named.name !== undefined) return named.name;
  return Object.keys(COMMANDS).some((c) => c.startsWith(`${named.group} `)) ? named.group : undefined;
}

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** node:util's parse errors in one line, naming the flag as the user wrote it. */
function parseErrorText(error: unknown, command: string | undefined, argv: readonly string[]): string {
  const { code, message } = error as { code?: string; message: string };
  const prefix = command ? `${command}: ` : '';
  const flag = /'(-[^',\s]*)(?:, (--[^\s']+))?/.exec(message);
  const name = flag?.[2] ?? flag?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // A key id is base64url, so one in 64 starts with '-' and reads as a cluster of short flags.
    const value = /^-[^-]/.test(name) ? argv.find((arg) => arg.length > 2 && arg.startsWith(name) && !arg.startsWith('--')) : undefined;
    return value === undefined ? `${prefix}unknown flag ${name}` : `${prefix}unknown flag ${name} in ${value}: a value that starts with '-' goes last, after --, as in '-- ${value}'`;
  }
  if (/argument missing/.test(message)) return `${prefix}${name} needs a value`;
  if (/argument is ambiguous/.test(message)) return `${prefix}${name} needs a value (for one that starts with '-', write ${name}=VALUE)`;
  if (/does not take an argument/.test(message)) return `${prefix}${name} takes no value`;
  return `${prefix}${message.split('. ')[0] ?? message}`;
}

function isOutputFormat(value: string): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value);
}

function none(args: string[], command: string): void {
  if (args.length > 0) throw new UsageError(`${command} takes no argument, got ${args.join(' ')}`);
}

function one(args: string[], command: string, what: string): string {
  if (args.length !== 1 || !args[0]) throw new UsageError(`${command} takes exactly one ${what}`);
  return args[0];
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${what} must be one of ${allowed.join(', ')}, not ${value}`);
  return value as T;
}

/** -f paths; `-` is stdin, at most once. */
function files(v: Values): string[] {
  const paths = required(v.file?.length ? v.file : undefined, '-f FILE|DIR|-');
  if (paths.filter((p) => p === '-').length > 1) throw new UsageError('-f - (stdin) may be given only once');
  return paths;
}

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`missing ${flag}`);
  return value;
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

function count(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, not ${value}`);
  return Number(value);
}

/** `NAME` with -n, or `NS/NAME` (a -n that disagrees is refused rather than guessed between). */
function policyRef(arg: string, flagNamespace: string | undefined): PolicyRef {
  const slash = arg.indexOf('/');
  if (slash < 0) return { namespace: namespace(required(flagNamespace, `-n NAMESPACE (or NAMESPACE/${arg})`)), name: objectNameOf(arg) };
  const ref = { namespace: namespace(arg.slice(0, slash)), name: objectNameOf(arg.slice(slash + 1)) };
  if (flagNamespace !== undefined && flagNamespace !== ref.namespace) throw new UsageError(`-n ${flagNamespace} contradicts ${arg}`);
  return ref;
}

// Names go into the URL path: checking them here also keeps `..` and `/` out of it.
function namespace(value: string): string {
  const result = namespaceName.safeParse(value);
  if (!result.success) throw new UsageError(`namespace "${value}": ${result.error.issues[0]?.message ?? 'invalid'}`);
  return value;
}

function objectNameOf(value: string): string {
  const result = objectName.safeParse(value);
  if (!result.success) throw new UsageError(`name "${value}": ${result.error.issues[0]?.message ?? 'invalid'}`);
  return value;
}

/** The task id is the last segment of a task ARN (`arn:aws:ecs:r:a:task/cluster/id`). */
function taskId(arg: string): string {
  const id = arg.slice(arg.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new UsageError(`"${arg}" is neither an ECS task id nor a task ARN`);
  return id;
}

function explainRequest(v: Values): ExplainRequest {
  const identityGiven = IDENTITY_OPTIONS.filter((o) => v[o] !== undefined);
  const group = v.group === undefined ? undefined : groupRef(v.group);
  const labels = v['group-label'] === undefined ? undefined : pairs(v['group-label'], '--group-label');
  const common = { ...optional('group', group), ...optional('groupLabels', labels) };
  if (v['task-arn'] !== undefined) {
    if (identityGiven.length > 0) throw new UsageError(`--task-arn cannot be combined with ${identityGiven.map((o) => `--${o}`).join(', ')}`);
    // The API refuses it too: a task is evaluated against its WorkloadGroup as it is.
    if (labels !== undefined) throw new UsageError('--group-label goes only with an identity, not with --task-arn');
    return { taskArn: v['task-arn'], ...optional('cluster', v.cluster), ...common };
  }
  if (identityGiven.length === 0) throw new UsageError('explain needs --task-arn ARN, or an identity (--account, --identity-region, --cluster, --role-arn or --role-name) with --group');
  if ((v['role-arn'] === undefined) === (v['role-name'] === undefined)) throw new UsageError('explain needs exactly one of --role-arn and --role-name');
  const launchType = v['launch-type'];
  if (launchType !== undefined && !LAUNCH_TYPES.includes(launchType)) throw new UsageError(`--launch-type must be one of ${LAUNCH_TYPES.join(', ')}, not ${launchType}`);
  const identity: ExplainIdentity = {
    ...optional('partition', v.partition),
    account: required(v.account, '--account'),
    region: required(v['identity-region'], '--identity-region'),
    ...optional('zone', v.zone),
    cluster: required(v.cluster, '--cluster'),
    ...optional('launchType', launchType),
    ...optional('roleArn', v['role-arn']),
    ...optional('roleName', v['role-name']),
    ...optional('roleTags', v['role-tag'] === undefined ? undefined : pairs(v['role-tag'], '--role-tag')),
  };
  return { identity, group: required(group, '--group NAMESPACE/NAME (with an identity)'), ...optional('groupLabels', labels) };
}

function tokenProfile(value: string | undefined): string | undefined {
  if (value !== undefined && !(TOKEN_PROFILES as readonly string[]).includes(value)) throw new UsageError(`--token-profile must be one of ${TOKEN_PROFILES.join(', ')}, not ${value}`);
  return value;
}

function keySelection(v: Values): KeySelection {
  return { ...optional('profile', tokenProfile(v['token-profile'])), ...optional('kid', v.kid) };
}

function groupRef(value: string): { namespace: string; name: string } {
  const slash = value.indexOf('/');
  if (slash < 0) throw new UsageError(`--group must be NAMESPACE/NAME, not ${value}`);
  return { namespace: namespace(value.slice(0, slash)), name: objectNameOf(value.slice(slash + 1)) };
}

function pairs(list: string[], flag: string): Record<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} must be KEY=VALUE, not ${item}`);
    const key = item.slice(0, eq);
    if (out.has(key)) throw new UsageError(`${flag} ${key} given twice`);
    out.set(key, item.slice(eq + 1));
  }
  // fromEntries keeps a key named __proto__ (sent as given; the API judges it), which assignment would drop.
  return Object.fromEntries(out);
}
