/**
 * The help texts: `ecs-mesh --help` (every command), `ecs-mesh policy --help` (a group) and
 * `ecs-mesh policy apply --help` (one command, with its flags), built from the commands and
 * flags args.ts parses, so the help cannot list a flag a command does not take.
 */
import { COMMANDS, OPTIONS, GLOBAL_OPTIONS, type CommandName, type OptionName } from './args.js';

interface CommandHelp {
  section: string;
  /** After `ecs-mesh `: the command and its arguments. */
  synopsis: string;
  about: string;
  /** When the command's exit codes differ from the CLI's (0 done, 1 failed, 2 usage). */
  exitCodes?: string;
}

const SECTIONS = {
  policies: 'Policies (OnboardingPolicy documents)',
  decisions: 'Decisions',
  repairs: 'Repairs',
  dlq: 'Dead letters (task-events records set aside: malformed, or failing 5 receives)',
  keys: 'Signing keys (each claim profile has its own)',
  cli: 'The CLI itself',
} as const;

const COMMAND_HELP: Record<CommandName, CommandHelp> = {
  'policy apply': {
    section: SECTIONS.policies,
    synopsis: 'policy apply -f FILE|DIR|- [-f ...] [--dry-run]',
    about: 'create or update each document (.yaml, .yml, .json; several YAML documents per file; a DIR\'s files by name; - reads stdin); --dry-run validates and says what would change, writing nothing',
  },
  'policy diff': {
    section: SECTIONS.policies,
    synopsis: 'policy diff -f FILE|DIR|- [-f ...]',
    about: 'what apply would change: per policy, a unified diff of the stored document (---) and the given one (+++), keys sorted',
    exitCodes: '0 nothing would change, 1 a document is invalid or the API failed, 2 usage error, 3 something would change',
  },
  'policy get': { section: SECTIONS.policies, synopsis: 'policy get [NS/]NAME [-n NS]', about: 'show a policy; -o yaml|json prints the document only, ready to edit and re-apply' },
  'policy list': { section: SECTIONS.policies, synopsis: 'policy list -n NS', about: 'the namespace\'s policies; -o json|yaml prints the API\'s items (revision included, for --if-match)' },
  'policy delete': { section: SECTIONS.policies, synopsis: 'policy delete [NS/]NAME [-n NS] [--if-match REV]', about: 'delete a policy (with --if-match, only at that revision)' },
  'policy history': { section: SECTIONS.policies, synopsis: 'policy history [NS/]NAME [-n NS] [--limit N]', about: 'who changed the policy, how and when, newest first' },
  explain: {
    section: SECTIONS.decisions,
    synopsis:
      'explain --task-arn ARN [--cluster NAME] [--group NS/NAME]\n' +
      'ecs-mesh explain --account ID --identity-region R --cluster NAME (--role-arn ARN | --role-name NAME)\n' +
      '        [--zone Z] [--partition P] [--role-tag k=v ...] [--launch-type FARGATE|EC2|EXTERNAL]\n' +
      '        --group NS/NAME [--group-label k=v ...]',
    about: 'would this task or identity be admitted to the group, and why, policy by policy (exit 0 whether allowed or refused)',
  },
  'enrollments list': {
    section: SECTIONS.decisions,
    synopsis: 'enrollments list [--cluster C] [-n NS] [--phase P] [--repair KIND] [--limit N] [--next-token T | --all]',
    about: 'the enrollment records, a page at a time (default 100); --repair: those the reconciler repaired (missing, drifted, revoked, group-gone, orphaned, stale-record, unwatched)',
  },
  'enrollments get': { section: SECTIONS.decisions, synopsis: 'enrollments get TASK_ID|TASK_ARN', about: 'one task\'s record: phase, reason, detail, policy and rule' },
  reconcile: {
    section: SECTIONS.repairs,
    synopsis: 'reconcile [--cluster C] [-n NS] [--dry-run]',
    about: 'run a reconcile pass now and print what was (with --dry-run: would be) repaired, by kind, task by task',
    exitCodes: '0 done (repairs or not), 1 a repair failed or the API failed, 2 usage error',
  },
  'dlq list': { section: SECTIONS.dlq, synopsis: 'dlq list [--limit N]', about: 'the records on the DLQ (default 20, at most 100), left there, with their reason and first-sent time' },
  'dlq replay': { section: SECTIONS.dlq, synopsis: 'dlq replay [--limit N]', about: 'send them back through task-events as new events (default 100, at most 1000); a malformed one is set aside again' },
  'keys list': { section: SECTIONS.keys, synopsis: 'keys list [--token-profile istio|kuma] [--kid KID]', about: 'every published key: pending (not signing yet), active or retiring, with its times' },
  'keys export': { section: SECTIONS.keys, synopsis: 'keys export --format pem|jwks [--token-profile istio|kuma] [--kid KID]', about: 'the public keys, e.g. for Kuma\'s CP config (pem); jwks needs --token-profile' },
  'keys rotate': {
    section: SECTIONS.keys,
    synopsis: 'keys rotate [--token-profile istio|kuma] [--emergency]',
    about: 'publish a pending successor that signs after KEY_PREPUBLISH_SECONDS; --emergency signs at once (verifiers that have not refreshed refuse new tokens)',
  },
  'keys revoke': {
    section: SECTIONS.keys,
    synopsis: 'keys revoke KID [--token-profile istio|kuma]',
    about: 'withdraw a key that no longer signs from the JWKS now: tokens signed with it stop verifying (the signing key: keys rotate --emergency first); a KID that starts with \'-\' goes last, after --',
  },
  version: { section: SECTIONS.cli, synopsis: 'version', about: 'the CLI\'s version, and the API\'s (its route version, and whether it answers) when one is configured' },
  completion: { section: SECTIONS.cli, synopsis: 'completion bash|zsh', about: 'a shell completion script: eval "$(ecs-mesh completion bash)" in ~/.bashrc (zsh: ~/.zshrc)' },
};

/** Each flag's value placeholder (if it takes one) and meaning. A flag missing here is listed bare. */
const FLAG_HELP: Partial<Record<OptionName, string>> = {
  'api-url': 'URL  the API\'s base URL (else ECS_MESH_API_URL, else the running `npm run local`)',
  region: 'R  region to sign for (else the region of an <id>.execute-api.<region>.amazonaws.com URL, the local stack\'s, AWS_REGION or AWS_DEFAULT_REGION)',
  profile: 'P  AWS profile (else the standard credential chain; the local stack\'s own credentials for it)',
  output: 'FORMAT  table (default), json or yaml',
  help: 'this text',
  namespace: 'NS  the namespace',
  file: 'FILE|DIR|-  a document file, a directory of them, or - for stdin (repeatable)',
  'if-match': 'REV  only if the policy is still at this revision',
  limit: 'N  at most N items',
  phase: 'P  pending, enrolled, draining, deregistered, rejected or ignored',
  cluster: 'C  the ECS cluster (name)',
  'task-arn': 'ARN  the task to explain',
  account: 'ID  the identity\'s 12-digit account',
  'identity-region': 'R  the identity\'s region',
  zone: 'Z  the identity\'s availability zone',
  partition: 'P  aws (default), aws-cn or aws-us-gov',
  'role-arn': 'ARN  the task role',
  'role-name': 'NAME  the task role, by name',
  'role-tag': 'k=v  a tag of the role (repeatable; without any, IAM\'s are read)',
  'launch-type': 'T  FARGATE, EC2 or EXTERNAL',
  group: 'NS/NAME  the WorkloadGroup',
  'group-label': 'k=v  stands in for the group\'s labels (repeatable; a what-if)',
  'dry-run': 'change nothing; say what would change',
  repair: 'KIND  records the reconciler repaired this way',
  'token-profile': 'istio|kuma  the claim profile (not --profile, the AWS profile)',
  format: 'pem|jwks  the export format',
  kid: 'KID  one key',
  emergency: 'the new key signs at once',
  'next-token': 'T  the page after the one that printed T (its nextToken)',
  all: 'follow nextToken to the last page',
};

const EXIT_CODES = 'Exit codes: 0 done, 1 the API refused or failed (or a document is invalid), 2 usage error.';

/** `ecs-mesh --help`: every command, by section. */
export function usage(): string {
  const lines = ['usage: ecs-mesh <command> [flags]'];
  let section = '';
  for (const help of Object.values(COMMAND_HELP)) {
    if (help.section !== section) lines.push('', `${(section = help.section)}:`);
    lines.push(...commandLines(help));
  }
  lines.push('', 'Global flags (anywhere):', ...flagLines(GLOBAL_OPTIONS), '', "Run 'ecs-mesh <command> --help' for a command's flags.", EXIT_CODES);
  return `${lines.join('\n')}\n`;
}

/** `ecs-mesh <topic> --help`: one command, or a group's commands (`policy`). */
export function helpFor(topic: string | undefined): string {
  if (topic === undefined) return usage();
  const help = (COMMAND_HELP as Partial<Record<string, CommandHelp>>)[topic];
  if (help === undefined) {
    const names = (Object.keys(COMMAND_HELP) as CommandName[]).filter((n) => n.startsWith(`${topic} `));
    const lines = [`usage: ecs-mesh ${topic} <${names.map((n) => n.slice(topic.length + 1)).join('|')}> [flags]`, '', ...names.flatMap((n) => commandLines(COMMAND_HELP[n]))];
    return `${[...lines, '', `Run 'ecs-mesh ${topic} <command> --help' for a command's flags.`].join('\n')}\n`;
  }
  const name = topic as CommandName;
  const own = COMMANDS[name].options;
  const lines = [`usage: ecs-mesh ${help.synopsis}`, '', wrap(help.about, 0).join('\n')];
  if (own.length > 0) lines.push('', 'Flags:', ...flagLines(own));
  lines.push('', 'Global flags:', ...flagLines(GLOBAL_OPTIONS), '', help.exitCodes ? `Exit codes: ${help.exitCodes}.` : EXIT_CODES);
  return `${lines.join('\n')}\n`;
}

function commandLines(help: CommandHelp): string[] {
  return [...help.synopsis.split('\n').map((l, i) => `  ${i === 0 ? l : l.replace(/^ecs-mesh /, '')}`), ...wrap(help.about, 6)];
}

function flagLines(names: readonly OptionName[]): string[] {
  return names.map((name) => {
    const short = (OPTIONS[name] as { short?: string }).short;
    const text = FLAG_HELP[name] ?? '';
    // "VALUE  meaning": the placeholder goes next to the flag.
    const split = /^(\S+) {2}(.*)$/.exec(text);
    const flag = `${short ? `-${short}, ` : ''}--${name}${split ? ` ${split[1]}` : ''}`;
    const [first = '', ...rest] = wrap(split?.[2] ?? text, FLAG_COLUMN);
    return [`  ${flag.padEnd(FLAG_COLUMN - 3)} ${first.trimStart()}`.trimEnd(), ...rest].join('\n');
  });
}

const FLAG_COLUMN = 29;

/** Words wrapped at 100 columns, each line indented. */
function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > 100) {
      lines.push(' '.repeat(indent) + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(' '.repeat(indent) + line);
  return lines;
}
