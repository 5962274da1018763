/**
 * Text the API sends is shown, never obeyed by the terminal: a DLQ body, a record's detail or an
 * error message carrying ESC, C1, CR or bidi controls must reach stdout/stderr escaped, and
 * `-o json|yaml` must still parse to the very same values.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createJsonLog } from '../../cli/agent/log.js';
import { renderTable } from '../../cli/mesh/output.js';
import { startFakeApi, type FakeApi } from '../support/cli-fake-api.js';
import { runCli } from '../support/cli-run.js';
import { aRecord } from '../fixtures/builders.js';

// Retitles the window (OSC ... BEL), clears the screen (CSI 2J, in 7-bit and C1 form), returns to the
// line start, backspaces, and reverses what follows.
const HOSTILE = '\u001b]0;owned\u0007\u001b[2J\u009b2J\rfake\bline\u007f\u202eevil\u2066x\u2069';
// What a terminal would act on: C0 but LF and TAB, DEL, C1, bidi embeddings/overrides and isolates.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ACTING = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let api: FakeApi;
beforeEach(async () => {
  api = await startFakeApi('eu-west-1');
});
afterEach(() => api.close());

const cli = (...argv: string[]) => runCli(argv, { env: { ECS_MESH_API_URL: api.url, AWS_REGION: 'eu-west-1' } });

describe('API text on the terminal', () => {
  it('shows control characters of a DLQ body and reason in a table as \\u escapes', async () => {
    api.intercept = () => ({ status: 200, body: { records: [{ messageId: 'm-1', reason: `MALFORMED${HOSTILE}`, body: HOSTILE.slice(0, 20) }] } });

    const run = await cli('dlq', 'list');

    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(ACTING);
    expect(run.stdout).toContain('MALFORMED\\u001b]0;owned\\u0007\\u001b[2J\\u009b2J\\u000dfake\\u0008line\\u007f\\u202eevil\\u2066x\\u2069');
    expect(run.stdout.split('\n')).toHaveLength(3);
  });

  it("shows them in a record's plain detail line", async () => {
    api.enrollments = [aRecord({ taskId: 'aaaa1111', detail: `stopped: ${HOSTILE}` })];

    const run = await cli('enrollments', 'get', 'aaaa1111');

    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(ACTING);
    expect(run.stdout).toContain('detail: stopped: \\u001b]0;owned\\u0007');
  });

  it("shows them in an API error's message on stderr", async () => {
    api.intercept = () => ({ status: 409, body: { reason: 'CONFLICT', message: `busy${HOSTILE}` } });

    const run = await cli('dlq', 'list');

    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(ACTING);
    expect(run.stderr).toContain('busy\\u001b]0;owned');
  });

  it.each(['json', 'yaml'] as const)('keeps -o %s parseable to the same values', async (format) => {
    // A multi-line body with only bidi controls would be a YAML block scalar, where an escape is not one.
    const records = [{ messageId: 'm-1', reason: HOSTILE, body: '{\n"a": "\u202eevil\u2066x\u2069"\n}' }];
    api.intercept = () => ({ status: 200, body: { records } });

    const run = await cli('dlq', 'list', '-o', format);

    expect(run.stdout).not.toMatch(ACTING);
    expect(format === 'json' ? JSON.parse(run.stdout) : parse(run.stdout)).toEqual(records);
  });
});

describe('renderTable', () => {
  it('keeps a cell holding a line break or a tab on its row', () => {
    expect(renderTable(['a', 'b'], [['x\ny', 'z\tw']])).toBe('A         B\nx\\u000ay  z\\u0009w\n');
  });
});

describe("the agent's JSON log", () => {
  it('escapes the C1 and bidi controls JSON leaves raw in a refusal message, and stays the same JSON', () => {
    const lines: string[] = [];
    const message = `refused\u009b2J\u202eevil\u007f`;

    createJsonLog((line) => lines.push(line), () => 0)('error', 'exchange.refused', { message });

    expect(lines[0]).not.toMatch(ACTING);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'exchange.refused', message });
  });
});
