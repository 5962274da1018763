/**
 * `completion bash|zsh`: a completion script for the `ecs-mesh` bin, built from the commands and
 * flags args.ts parses. zsh runs the bash function through bashcompinit, its bash emulation.
 */
import { COMMANDS, GLOBAL_OPTIONS, OPTIONS, SHELLS, type CommandName, type OptionName, type Shell } from '../args.js';
import { OUTPUT_FORMATS } from '../output.js';
import { EXPORT_FORMATS } from './keys.js';
import { REPAIR_KINDS } from '../../../shared/core/reconcile.js';

/** Values offered after a flag; `FILES` completes paths. */
const FILES = Symbol('files');
const VALUES: Partial<Record<OptionName, readonly string[] | typeof FILES>> = {
  output: OUTPUT_FORMATS,
  file: FILES,
  'token-profile': ['istio', 'kuma'],
  format: EXPORT_FORMATS,
  phase: ['pending', 'enrolled', 'draining', 'deregistered', 'rejected', 'ignored'],
  repair: REPAIR_KINDS,
  'launch-type': ['FARGATE', 'EC2', 'EXTERNAL'],
};

export function completionScript(shell: Shell): string {
  const bash = bashScript();
  return shell === 'bash' ? bash : `#compdef ecs-mesh\n# ecs-mesh completion for zsh: eval "$(ecs-mesh completion zsh)" in ~/.zshrc\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}

function bashScript(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const groups = [...new Set(names.map((n) => n.split(' ')[0]!)), 'help'];
  const verbs = groups.flatMap((g) => {
    const of = names.filter((n) => n.startsWith(`${g} `)).map((n) => n.slice(g.length + 1));
    return of.length > 0 ? [`    ${g}) verbs="${of.join(' ')}" ;;`] : [];
  });
  const flagsOf = names.map((n) => `    "${n}") flags="${spellings(COMMANDS[n].options)}" ;;`);
  const values = (Object.entries(VALUES) as [OptionName, readonly string[] | typeof FILES][]).map(
    ([name, v]) => `    ${spellings([name]).replace(' ', '|')}) COMPREPLY=($(compgen ${v === FILES ? '-f' : `-W "${v.join(' ')}"`} -- "$cur")); return ;;`,
  );
  return `# ecs-mesh completion for bash: eval "$(ecs-mesh completion bash)" in ~/.bashrc
_ecs_mesh() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" verbs="" flags="" i
  local words=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) words+=("\${COMP_WORDS[i]}") ;; esac
  done
  case "$prev" in
${values.join('\n')}
  esac
  if ((\${#words[@]} == 0)); then COMPREPLY=($(compgen -W "${groups.join(' ')}" -- "$cur")); return; fi
  case "\${words[0]}" in
${verbs.join('\n')}
    completion) ((\${#words[@]} == 1)) && COMPREPLY=($(compgen -W "${SHELLS.join(' ')}" -- "$cur")); return ;;
  esac
  if ((\${#words[@]} == 1)) && [[ -n "$verbs" && "$cur" != -* ]]; then COMPREPLY=($(compgen -W "$verbs" -- "$cur")); return; fi
  local command="\${words[0]}"
  [[ -n "$verbs" ]] && command="\${words[0]} \${words[1]}"
  case "$command" in
${flagsOf.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$flags ${spellings(GLOBAL_OPTIONS)}" -- "$cur"))
}
complete -o default -F _ecs_mesh ecs-mesh
`;
}

/** `-f --file` for each flag. */
function spellings(names: readonly OptionName[]): string {
  return names.map((n) => `${(OPTIONS[n] as { short?: string }).short ? `-${(OPTIONS[n] as { short?: string }).short} ` : ''}--${n}`).join(' ');
}
