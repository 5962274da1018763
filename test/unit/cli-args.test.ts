import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../../cli/mesh/args.js';
import { runCli } from '../support/cli-run.js';

describe('parseInvocation', () => {
  it('accepts global flags anywhere on the line', () => {
    const invocation = parseInvocation(['-o', 'yaml', 'policy', '--region', 'eu-west-1', 'get', 'bookinfo/allow-ratings', '--api-url', 'https://api.example.com', '--profile', 'ops']);

    expect(invocation).toEqual({ apiUrl: 'https://api.example.com', region: 'eu-west-1', profile: 'ops', output: 'yaml', command: { name: 'policy get', ref: { namespace: 'bookinfo', name: 'allow-ratings' } } });
  });

  it.each([
    { case: 'NAME with -n', argv: ['policy', 'history', 'allow-ratings', '-n', 'bookinfo', '--limit', '3'], command: { name: 'policy history', ref: { namespace: 'bookinfo', name: 'allow-ratings' }, limit: 3 } },
    { case: 'NS/NAME with a matching -n', argv: ['policy', 'delete', 'bookinfo/allow-ratings', '-n', 'bookinfo', '--if-match', '4'], command: { name: 'policy delete', ref: { namespace: 'bookinfo', name: 'allow-ratings' }, ifMatch: 4 } },
    { case: 'several -f', argv: ['policy', 'apply', '-f', 'a.yaml', '--file', 'dir'], command: { name: 'policy apply', files: ['a.yaml', 'dir'], dryRun: false } },
    { case: 'a task ARN for enrollments get', argv: ['enrollments', 'get', 'arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd'], command: { name: 'enrollments get', taskId: '0123abcd' } },
    { case: 'enrollments filters', argv: ['enrollments', 'list', '--cluster', 'prod', '-n', 'bookinfo', '--phase', 'rejected'], command: { name: 'enrollments list', query: { cluster: 'prod', namespace: 'bookinfo', phase: 'rejected' }, all: false } },
    { case: 'enrollments paging', argv: ['enrollments', 'list', '--limit', '5', '--next-token', 'eyJ2IjoxfQ', '--all'], command: { name: 'enrollments list', query: { limit: 5, nextToken: 'eyJ2IjoxfQ' }, all: true } },
    { case: 'reconcile, dry, for one cluster', argv: ['reconcile', '--cluster', 'prod', '--dry-run'], command: { name: 'reconcile', request: { dryRun: true, clusters: ['prod'] } } },
    { case: 'reconcile for a namespace', argv: ['reconcile', '-n', 'bookinfo'], command: { name: 'reconcile', request: { dryRun: false, namespace: 'bookinfo' } } },
    { case: '--help after a command', argv: ['policy', 'get', '--help'], command: { name: 'help', topic: 'policy get' } },
    { case: 'nothing', argv: [], command: { name: 'help' } },
  ])('parses $case', ({ argv, command }) => {
    expect(parseInvocation(argv).command).toEqual(command);
  });

  it.each([
    { case: 'an unknown command', argv: ['policies', 'list'], message: 'unknown command: policies list' },
    { case: 'a group without its verb', argv: ['enrollments'], message: 'enrollments needs one of: list, get' },
    { case: 'an unknown flag', argv: ['policy', 'list', '--bogus'], message: 'policy list: unknown flag --bogus' },
    { case: 'a flag of another command', argv: ['policy', 'get', 'a/b', '--limit', '3'], message: 'policy get does not take --limit' },
    { case: 'an output format that does not exist', argv: ['policy', 'get', 'a/b', '-o', 'xml'], message: '-o must be one of table, json, yaml, not xml' },
    { case: 'a NAME without a namespace', argv: ['policy', 'get', 'allow-ratings'], message: 'missing -n NAMESPACE (or NAMESPACE/allow-ratings)' },
    { case: '-n contradicting NS/NAME', argv: ['policy', 'get', 'a/b', '-n', 'c'], message: '-n c contradicts a/b' },
    { case: 'a name that would change the URL path', argv: ['policy', 'get', 'bookinfo/..'], message: 'name "..": must be a DNS-1123 subdomain' },
    { case: 'apply without -f', argv: ['policy', 'apply'], message: 'missing -f FILE|DIR' },
    { case: 'apply with -o json', argv: ['policy', 'apply', '-f', 'x', '-o', 'json'], message: 'policy apply prints one line per document; -o is not supported' },
    { case: 'a zero --limit', argv: ['policy', 'history', 'a/b', '--limit', '0'], message: '--limit must be an integer ≥ 1, not 0' },
    { case: 'a non-numeric --if-match', argv: ['policy', 'delete', 'a/b', '--if-match', '"3"'], message: '--if-match must be an integer ≥ 0, not "3"' },
    { case: 'two names', argv: ['policy', 'get', 'a/b', 'a/c'], message: 'policy get takes exactly one NAME' },
    { case: 'not a task id', argv: ['enrollments', 'get', 'task/../x y'], message: 'is neither an ECS task id nor a task ARN' },
    { case: 'reconcile with an argument', argv: ['reconcile', 'now'], message: 'reconcile takes no argument, got now' },
    { case: 'reconcile with a flag of another command', argv: ['reconcile', '--phase', 'enrolled'], message: 'reconcile does not take --phase' },
  ])('refuses $case', ({ argv, message }) => {
    expect(() => parseInvocation(argv)).toThrow(message);
  });
});

describe('ecs-mesh --help', () => {
  it('prints the usage on stdout and exits 0 without an API URL', async () => {
    const run = await runCli(['--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: ecs-mesh <command> \[flags\]\n/);
    expect(run.stderr).toBe('');
  });
});
