import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTOR, startFakeApi, TEST_CREDENTIALS, type FakeApi, type RecordedRequest } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';
import { aPolicy } from '../fixtures/builders.js';

const REGION = 'eu-west-1';
const RATINGS = aPolicy({ name: 'allow-ratings' });
const REVIEWS = aPolicy({ name: 'allow-reviews' });
const DETAILS = aPolicy({ name: 'allow-details' });
const withClusters = (policy: ReturnType<typeof aPolicy>, clusters: string[]) => {
  const copy = structuredClone(policy);
  const ecs = copy.spec.allow[0]?.workloads[0]?.aws.ecs;
  if (ecs) ecs.clusters = clusters;
  return copy;
};

let api: FakeApi;
let dir: string;
beforeEach(async () => {
  api = await startFakeApi(REGION);
  dir = await mkdtemp(join(tmpdir(), 'ecs-mesh-cli-'));
});
afterEach(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

const cli = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: api.url, AWS_REGION: REGION }, cwd: dir });
const summary = (r: RecordedRequest) => `${r.method} ${r.path} ${r.headers['if-match'] ?? ''}${r.headers['if-none-match'] ? `if-none-match ${r.headers['if-none-match']}` : ''}`.trim();
const yamlStream = (...docs: unknown[]) => docs.map((d) => stringify(d)).join('---\n');

describe('policy apply', () => {
  it('creates, configures and leaves unchanged the documents of one file, each with its precondition', async () => {
    api.seedPolicy(REVIEWS);
    api.seedPolicy(DETAILS);
    const changedReviews = withClusters(REVIEWS, ['prod', 'staging']);
    // An empty document and a comments-only one are skipped.
    await writeFile(join(dir, 'policies.yaml'), `${yamlStream(RATINGS, changedReviews)}---\n---\n# nothing here\n---\n${stringify(DETAILS)}`);

    const run = await cli('policy', 'apply', '-f', 'policies.yaml');

    expect(run).toEqual({
      code: 0,
      stdout: ['onboardingpolicy bookinfo/allow-ratings created (revision 1)', 'onboardingpolicy bookinfo/allow-reviews configured (revision 2)', 'onboardingpolicy bookinfo/allow-details unchanged (revision 1)', ''].join('\n'),
      stderr: '',
    });
    expect(api.requests.map(summary)).toEqual([
      'GET /v1/namespaces/bookinfo/policies/allow-ratings',
      'PUT /v1/namespaces/bookinfo/policies/allow-ratings if-none-match *',
      'GET /v1/namespaces/bookinfo/policies/allow-reviews',
      'PUT /v1/namespaces/bookinfo/policies/allow-reviews "1"',
      'GET /v1/namespaces/bookinfo/policies/allow-details',
      'PUT /v1/namespaces/bookinfo/policies/allow-details "1"',
    ]);
    const puts = api.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers['content-type'])).toEqual(['application/json', 'application/json', 'application/json']);
    expect(puts.map((r) => JSON.parse(r.body))).toEqual([RATINGS, changedReviews, DETAILS]);
    expect(api.storedPolicy('bookinfo', 'allow-reviews')).toEqual(changedReviews);
  });

  it('signs every request for execute-api in the region with the given key', async () => {
    await writeFile(join(dir, 'ratings.yaml'), stringify(RATINGS));

    await cli('policy', 'apply', '-f', 'ratings.yaml');

    expect(api.requests).toHaveLength(2);
    for (const request of api.requests) {
      const date = String(request.headers['x-amz-date']).slice(0, 8);
      expect(request.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/${date}/${REGION}/execute-api/aws4_request, SignedHeaders=`));
    }
  });

  it('reports a document the API refuses with its problems, applies the others and exits 1', async () => {
    const invalid = aPolicy({ name: 'allow-everyone', allow: [{ workloads: [{ aws: { accounts: ['12345'] } }], onboardTo: [{ workloadGroupSelector: {} }] }] });
    const notAPolicy = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'ratings', namespace: 'bookinfo' } };
    await writeFile(join(dir, 'mixed.yaml'), yamlStream(RATINGS, invalid, notAPolicy, REVIEWS));

    const run = await cli('policy', 'apply', '-f', 'mixed.yaml');

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('onboardingpolicy bookinfo/allow-ratings created (revision 1)\nonboardingpolicy bookinfo/allow-reviews created (revision 1)\n');
    expect(run.stderr).toBe(
      [
        'error: onboardingpolicy bookinfo/allow-everyone: 422 INVALID_POLICY: the policy is invalid (1 problem)',
        '  /spec/allow/0/workloads/0/aws/accounts/0: must be an explicit 12-digit account id',
        'error: mixed.yaml: document 3: kind must be OnboardingPolicy, not "WorkloadGroup"',
        '',
      ].join('\n'),
    );
    expect(api.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
      '/v1/namespaces/bookinfo/policies/allow-ratings',
      '/v1/namespaces/bookinfo/policies/allow-everyone',
      '/v1/namespaces/bookinfo/policies/allow-reviews',
    ]);
    expect(api.storedPolicy('bookinfo', 'allow-everyone')).toBeUndefined();
  });

  it('refuses to overwrite a policy changed by someone else between its read and its write', async () => {
    api.seedPolicy(RATINGS);
    const theirs = withClusters(RATINGS, ['theirs']);
    api.intercept = (request) => {
      if (request.method === 'PUT') {
        api.intercept = () => undefined;
        api.seedPolicy(theirs);
      }
      return undefined;
    };
    await writeFile(join(dir, 'ratings.yaml'), stringify(withClusters(RATINGS, ['mine'])));

    const run = await cli('policy', 'apply', '-f', 'ratings.yaml');

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: onboardingpolicy bookinfo/allow-ratings: conflict: changed by someone else since it was read (now revision 2); re-run apply\n' });
    expect(api.requests.find((r) => r.method === 'PUT')?.headers['if-match']).toBe('"1"');
    expect(api.storedPolicy('bookinfo', 'allow-ratings')).toEqual(theirs);
  });

  it('reads a directory\'s .json and .yaml files in name order, skipping other files and subdirectories', async () => {
    await writeFile(join(dir, '20-reviews-and-details.yaml'), yamlStream(REVIEWS, DETAILS));
    await writeFile(join(dir, '10-ratings.json'), JSON.stringify(RATINGS, null, 2));
    await writeFile(join(dir, 'README.md'), '# not a policy');
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', '00-other.yaml'), stringify(aPolicy({ name: 'nested' })));

    const run = await cli('policy', 'apply', '-f', '.');

    expect(run.code).toBe(0);
    expect(api.requests.filter((r) => r.method === 'PUT').map((r) => r.path.split('/').pop())).toEqual(['allow-ratings', 'allow-reviews', 'allow-details']);
  });

  it('sends nothing when a document cannot be parsed, naming its file and position', async () => {
    await writeFile(join(dir, 'a.yaml'), stringify(RATINGS));
    await writeFile(join(dir, 'b.yaml'), `${stringify(REVIEWS)}---\nmetadata: { name: x\n`);

    const run = await cli('policy', 'apply', '-f', 'a.yaml', '-f', 'b.yaml', '-f', 'missing.yaml');

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: b\.yaml: document 2: .+\nerror: missing\.yaml: cannot read: no such file or directory\n$/);
    expect(api.requests).toEqual([]);
  });
});

describe('policy get', () => {
  it('prints a table with the revision, rule count and who changed it last', async () => {
    api.seedPolicy(RATINGS);

    const run = await cli('policy', 'get', 'bookinfo/allow-ratings');

    expect(run).toEqual({
      code: 0,
      stdout: `NAMESPACE  NAME           REVISION  RULES  VALID  UPDATED                   BY\nbookinfo   allow-ratings  1         1      yes    2026-03-01T12:01:00.000Z  ${ACTOR}\n`,
      stderr: '',
    });
  });

  it('prints with -o yaml only the document, which applies back unchanged', async () => {
    api.seedPolicy(RATINGS);

    const got = await cli('policy', 'get', 'allow-ratings', '-n', 'bookinfo', '-o', 'yaml');
    await writeFile(join(dir, 'round-trip.yaml'), got.stdout);
    const applied = await cli('policy', 'apply', '-f', 'round-trip.yaml');

    expect(got.code).toBe(0);
    expect(parse(got.stdout)).toEqual(RATINGS);
    expect(applied.stdout).toBe('onboardingpolicy bookinfo/allow-ratings unchanged (revision 1)\n');
  });

  it('reports a missing policy with the API\'s reason and exits 1', async () => {
    const run = await cli('policy', 'get', 'bookinfo/nope');

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: 404 POLICY_NOT_FOUND: no policy bookinfo/nope\n' });
  });
});

describe('policy apply -f - (stdin)', () => {
  it('applies the documents piped in, reported as <stdin>', async () => {
    const run = await runCli(['policy', 'apply', '-f', '-'], { env: { ECS_MESH_API_URL: api.url, AWS_REGION: REGION }, cwd: dir, stdin: yamlStream(RATINGS, REVIEWS) });

    expect(run).toEqual({ code: 0, stdout: 'onboardingpolicy bookinfo/allow-ratings created (revision 1)\nonboardingpolicy bookinfo/allow-reviews created (revision 1)\n', stderr: '' });
    expect(api.storedPolicy('bookinfo', 'allow-reviews')).toEqual(REVIEWS);
  });

  it('names <stdin> in a parse error and sends nothing', async () => {
    const run = await runCli(['policy', 'apply', '-f', '-'], { env: { ECS_MESH_API_URL: api.url, AWS_REGION: REGION }, cwd: dir, stdin: 'kind: [unclosed' });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: <stdin>: document 1: /);
    expect(api.requests).toEqual([]);
  });
});

describe('policy apply --dry-run and policy diff', () => {
  const changed = withClusters(RATINGS, ['prod', 'staging']);
  const seed = async () => {
    api.seedPolicy(RATINGS);
    api.seedPolicy(REVIEWS);
    // Same content as stored, keys in another order: unchanged, as the API judges it.
    const reordered = { spec: REVIEWS.spec, metadata: REVIEWS.metadata, kind: REVIEWS.kind, apiVersion: REVIEWS.apiVersion };
    await writeFile(join(dir, 'policies.yaml'), yamlStream(changed, reordered, DETAILS));
  };

  it('says per document what apply would do, and writes nothing', async () => {
    await seed();

    const run = await cli('policy', 'apply', '-f', 'policies.yaml', '--dry-run');

    expect(run).toEqual({
      code: 0,
      stdout: [
        'onboardingpolicy bookinfo/allow-ratings configured (dry run; stored revision 1)',
        'onboardingpolicy bookinfo/allow-reviews unchanged (dry run; stored revision 1)',
        'onboardingpolicy bookinfo/allow-details created (dry run)',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
    expect(api.storedPolicy('bookinfo', 'allow-ratings')).toEqual(RATINGS);
  });

  it('prints a unified diff of each policy that would change and exits 3', async () => {
    await seed();

    const run = await cli('policy', 'diff', '-f', 'policies.yaml');

    expect(run.code).toBe(3);
    expect(run.stderr).toBe('');
    const [ratings, details] = run.stdout.split(/^(?=diff )/m);
    expect(ratings).toBe(
      [
        'diff onboardingpolicy bookinfo/allow-ratings',
        '--- onboardingpolicy bookinfo/allow-ratings (stored, revision 1)',
        '+++ onboardingpolicy bookinfo/allow-ratings (policies.yaml, document 1)',
        '@@ -16,6 +16,7 @@',
        '             ecs:',
        '               clusters:',
        '                 - prod',
        '+                - staging',
        '               iamRoleTags:',
        '                 team:',
        '                   - ratings',
        '',
      ].join('\n'),
    );
    expect(details).toMatch(/^--- onboardingpolicy bookinfo\/allow-details \(not stored\)$/m);
    expect(details).toContain('+kind: OnboardingPolicy\n');
    expect(run.stdout).not.toContain('allow-reviews');
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);
  });

  it('exits 0 with nothing to print when nothing would change', async () => {
    api.seedPolicy(RATINGS);
    await writeFile(join(dir, 'ratings.yaml'), stringify(RATINGS));

    expect(await cli('policy', 'diff', '-f', 'ratings.yaml')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('reports an invalid document with the API\'s pointers and exits 1, still diffing the others', async () => {
    const bad = structuredClone(RATINGS);
    bad.metadata.name = 'bad';
    bad.spec.allow[0]!.workloads[0]!.aws.accounts = ['*'];
    await writeFile(join(dir, 'mixed.yaml'), yamlStream(bad, DETAILS));

    const dry = await cli('policy', 'apply', '-f', 'mixed.yaml', '--dry-run');
    const diff = await cli('policy', 'diff', '-f', 'mixed.yaml');

    expect(dry.code).toBe(1);
    expect(dry.stderr).toBe('error: onboardingpolicy bookinfo/bad: mixed.yaml: document 1 is invalid; nothing would be stored\n  /spec/allow/0/workloads/0/aws/accounts/0: wildcards are not allowed; list each value\n');
    expect(dry.stdout).toBe('onboardingpolicy bookinfo/allow-details created (dry run)\n');
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('+++ onboardingpolicy bookinfo/allow-details (mixed.yaml, document 2)');
    expect(api.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

describe('policy list', () => {
  it('prints the namespace\'s policies as a table with their validity', async () => {
    api.seedPolicy(RATINGS);
    api.seedPolicy(REVIEWS);

    const run = await cli('policy', 'list', '-n', 'bookinfo');

    expect(run.stdout).toBe(
      [
        'NAMESPACE  NAME           REVISION  RULES  VALID  UPDATED                   BY',
        `bookinfo   allow-ratings  1         1      yes    2026-03-01T12:01:00.000Z  ${ACTOR}`,
        `bookinfo   allow-reviews  1         1      yes    2026-03-01T12:02:00.000Z  ${ACTOR}`,
        '',
      ].join('\n'),
    );
    expect(api.requests.map(summary)).toEqual(['GET /v1/namespaces/bookinfo/policies']);
  });

  it('prints the API\'s items, revision included, as JSON or YAML, so a script can delete --if-match', async () => {
    api.seedPolicy(RATINGS);
    api.seedPolicy(REVIEWS);
    api.seedPolicy(withClusters(REVIEWS, ['other']));

    const json = await cli('policy', 'list', '-n', 'bookinfo', '-o', 'json');
    const yaml = await cli('policy', 'list', '-n', 'bookinfo', '-o', 'yaml');
    const items = JSON.parse(json.stdout) as { name: string; revision: number }[];
    const reviews = items.find((i) => i.name === 'allow-reviews')!;
    const deleted = await cli('policy', 'delete', 'bookinfo/allow-reviews', '--if-match', String(reviews.revision));

    expect(items).toEqual([
      { namespace: 'bookinfo', name: 'allow-ratings', revision: 1, updatedAt: expect.any(String), updatedBy: ACTOR, valid: true, policy: RATINGS },
      { namespace: 'bookinfo', name: 'allow-reviews', revision: 2, updatedAt: expect.any(String), updatedBy: ACTOR, valid: true, policy: withClusters(REVIEWS, ['other']) },
    ]);
    expect(parse(yaml.stdout)).toEqual(items);
    expect(deleted).toMatchObject({ code: 0, stdout: 'onboardingpolicy bookinfo/allow-reviews deleted (revision 3)\n' });
  });
});

describe('policy delete', () => {
  it('deletes only the revision given with --if-match', async () => {
    api.seedPolicy(RATINGS);

    const run = await cli('policy', 'delete', 'bookinfo/allow-ratings', '--if-match', '1');

    expect(run).toEqual({ code: 0, stdout: 'onboardingpolicy bookinfo/allow-ratings deleted (revision 2)\n', stderr: '' });
    expect(api.requests.map(summary)).toEqual(['DELETE /v1/namespaces/bookinfo/policies/allow-ratings "1"']);
    expect(api.storedPolicy('bookinfo', 'allow-ratings')).toBeUndefined();
  });

  it('keeps a policy whose revision moved on, and says which it is now', async () => {
    api.seedPolicy(RATINGS);
    api.seedPolicy(withClusters(RATINGS, ['other']));

    const run = await cli('policy', 'delete', 'allow-ratings', '-n', 'bookinfo', '--if-match', '1');

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: 412 PRECONDITION_FAILED: the policy changed since it was read (current revision 2)\n' });
    expect(api.storedPolicy('bookinfo', 'allow-ratings')).toBeDefined();
  });
});

describe('policy history', () => {
  it('prints the revisions newest first, passing --limit on', async () => {
    api.seedPolicy(RATINGS);
    api.seedPolicy(withClusters(RATINGS, ['other']));

    const table = await cli('policy', 'history', 'bookinfo/allow-ratings', '--limit', '5');
    const json = await cli('policy', 'history', 'bookinfo/allow-ratings', '-o', 'json');

    expect(table.stdout).toBe(['REVISION  ACTION  AT                        ACTOR', `2         update  2026-03-01T12:02:00.000Z  ${ACTOR}`, `1         create  2026-03-01T12:01:00.000Z  ${ACTOR}`, ''].join('\n'));
    expect(api.requests[0]?.query).toEqual({ limit: '5' });
    expect(JSON.parse(json.stdout)).toMatchObject([{ revision: 2, action: 'update', before: RATINGS }, { revision: 1, action: 'create', before: null, after: RATINGS }]);
  });
});
