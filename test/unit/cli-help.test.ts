import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName } from '../../cli/mesh/args.js';
import { completionScript } from '../../cli/mesh/commands/completion.js';
import { unifiedDiff } from '../../cli/mesh/line-diff.js';
import { runCli } from '../support/cli-run.js';

const NAMES = Object.keys(COMMANDS) as CommandName[];

describe('ecs-mesh <command> --help', () => {
  it.each(NAMES)('prints %s\'s synopsis and exactly its own flags, exit 0, without an API', async (name) => {
    const run = await runCli([...name.split(' '), '--help']);

    expect(run.code).toBe(0);
    expect(run.stdout.startsWith(`usage: ecs-mesh ${name}`)).toBe(true);
    const own = run.stdout.includes('\nFlags:\n') ? run.stdout.split('\nFlags:\n')[1]!.split('\n\n')[0]! : '';
    const listed = [...own.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(COMMANDS[name].options);
  });

  it('lists a group\'s commands for `policy --help`', async () => {
    const run = await runCli(['policy', '--help']);

    expect(run.stdout).toMatch(/^usage: ecs-mesh policy <apply\|diff\|get\|list\|delete\|history> \[flags\]\n/);
  });

  it('lists every command in `--help` and `help`', async () => {
    const [flag, word] = await Promise.all([runCli(['--help']), runCli(['help'])]);

    expect(flag.stdout).toBe(word.stdout);
    for (const name of NAMES) expect(flag.stdout).toContain(`\n  ${name}`);
    expect((await runCli(['help', 'keys', 'rotate'])).stdout).toMatch(/^usage: ecs-mesh keys rotate /);
  });
});

describe('usage errors', () => {
  // Every command, an unknown flag: one line naming it, then where the help is; no parser prose.
  it.each(NAMES)('answers an unknown flag to %s in one line and points at its --help', async (name) => {
    const run = await runCli([...name.split(' '), '--no-such-flag']);

    expect(run).toEqual({ code: 2, stdout: '', stderr: `error: ${name}: unknown flag --no-such-flag\nsee 'ecs-mesh ${name} --help'\n` });
  });

  it.each([
    { case: 'a flag without its value', argv: ['policy', 'history', 'a/b', '--limit'], stderr: "error: policy history: --limit needs a value\nsee 'ecs-mesh policy history --help'\n" },
    { case: 'a value for a switch', argv: ['reconcile', '--dry-run=yes'], stderr: "error: reconcile: --dry-run takes no value\nsee 'ecs-mesh reconcile --help'\n" },
    { case: 'an unknown short flag', argv: ['keys', 'list', '-z'], stderr: "error: keys list: unknown flag -z\nsee 'ecs-mesh keys list --help'\n" },
    { case: 'a value that looks like a flag', argv: ['policy', 'list', '-n', '--bogus'], stderr: "error: policy list: -n needs a value (for one that starts with '-', write -n=VALUE)\nsee 'ecs-mesh policy list --help'\n" },
    { case: 'an unknown verb', argv: ['keys', 'delete'], stderr: "error: unknown command: keys delete (keys has: list, export, rotate, revoke)\nsee 'ecs-mesh keys --help'\n" },
    { case: 'a shell completion does not know', argv: ['completion', 'fish'], stderr: "error: completion SHELL must be one of bash, zsh, not fish\nsee 'ecs-mesh completion --help'\n" },
    { case: 'stdin twice', argv: ['policy', 'apply', '-f', '-', '-f', '-'], stderr: "error: -f - (stdin) may be given only once\nsee 'ecs-mesh policy apply --help'\n" },
  ])('answers $case in one line', async ({ argv, stderr }) => {
    expect(await runCli(argv)).toEqual({ code: 2, stdout: '', stderr });
  });
});

describe('ecs-mesh version', () => {
  it('prints the package version, and that no API is configured', async () => {
    const run = await runCli(['version']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ecs-mesh \d+\.\d+\.\d+\napi: not configured \(no API URL: /);
  });
});

describe('ecs-mesh completion', () => {
  /** Runs the bash script's function for a command line ending in `current` and returns COMPREPLY. */
  const complete = (words: string[]) =>
    execFileSync('bash', ['-c', `${completionScript('bash')}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ecs_mesh; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).trim().split('\n');

  it('completes groups, verbs, a command\'s flags and flag values in bash', () => {
    expect(complete(['ecs-mesh', 'po'])).toEqual(['policy']);
    expect(complete(['ecs-mesh', 'policy', 'd'])).toEqual(['diff', 'delete']);
    expect(complete(['ecs-mesh', 'policy', 'apply', '--d'])).toEqual(['--dry-run']);
    expect(complete(['ecs-mesh', 'keys', 'export', '--format', ''])).toEqual(['pem', 'jwks']);
    expect(complete(['ecs-mesh', 'reconcile', '--'])).toEqual(['--cluster', '--namespace', '--dry-run', '--api-url', '--region', '--profile', '--output', '--help']);
  });

  it('wraps the same function for zsh through bashcompinit', async () => {
    const run = await runCli(['completion', 'zsh']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^#compdef ecs-mesh\n/);
    expect(run.stdout).toContain('autoload -U +X bashcompinit && bashcompinit\n');
    expect(run.stdout).toContain(completionScript('bash'));
  });
});

describe('unifiedDiff', () => {
  it('gives nothing for equal texts, and hunks with context for changes', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];

    expect(unifiedDiff(before, before)).toEqual([]);
    expect(unifiedDiff(before, after, 1)).toEqual(['@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c', '@@ -9,2 +9 @@', ' i', '-j']);
    expect(unifiedDiff([], ['x', 'y'])).toEqual(['@@ -0,0 +1,2 @@', '+x', '+y']);
  });
});

describe('ecs-mesh version against an API', () => {
  it('says which route version the API answers, with its issuer, or that it does not answer', async () => {
    const server = createServer((req, res) => {
      const ok = req.url === '/prod/.well-known/openid-configuration';
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { issuer: 'https://issuer.example' } : { message: 'Not Found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const answers = await runCli(['version', '--api-url', `${url}/prod`]);
      const wrongStage = await runCli(['version', '--api-url', `${url}/dev`]);

      expect(answers).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`\\napi: v1 at ${url}/prod \\(answers; issuer https://issuer.example\\)\\n$`)), stderr: '' });
      expect(wrongStage.stdout).toMatch(new RegExp(`\\napi: ${url}/dev answered 404: not this API, or another stage\\n$`));
    } finally {
      server.close();
    }
  });
});
