// The agent image's recipe, read as Docker reads it (line continuations joined, comments and blank
// lines dropped): it must be built from the bundle only, run non-root, and check its health.
import { readFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = 'deploy/agent/Dockerfile';

/** `[instruction, rest]` for every instruction of a Dockerfile. */
function instructions(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [, name, rest] = /^(\S+)\s+(.*)$/.exec(line)!;
      return [name!.toUpperCase(), rest!.trim()];
    });
}

const steps = instructions(readFileSync(`${root}${DOCKERFILE}`, 'utf8'));
const all = (name: string) => steps.filter(([n]) => n === name).map(([, rest]) => rest);
const exec = (rest: string) => JSON.parse(rest.replace(/^(--\S+\s+)*(CMD\s+)?/, '')) as string[];

describe(`File: ${DOCKERFILE}`, () => {
  it('copies the bundle that npm run build:agent writes, and nothing else', async () => {
    const { DEFAULT_OUTFILE } = await import('../../scripts/build-agent.mjs');

    const copies = [...all('COPY'), ...all('ADD').map((a) => `ADD ${a}`)];

    expect(copies).toEqual([`${basename(DEFAULT_OUTFILE)} /opt/ecs-mesh-agent/ecs-mesh-agent.mjs`]);
    // The guide's build command uses the bundle's directory as the context.
    const guide = readFileSync(`${root}docs/onboard-a-service.md`, 'utf8');
    expect(guide).toContain(`docker build -f ${DOCKERFILE} -t ecs-mesh-agent ${relative(root, dirname(DEFAULT_OUTFILE))}`);
  });

  it('lets only the bundle into the build context', () => {
    const ignore = readFileSync(`${root}${DOCKERFILE}.dockerignore`, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));

    expect(ignore).toEqual(['*', '!ecs-mesh-agent.mjs']);
  });

  it('runs the bundle on a slim or distroless Node 22, as a non-root user, with a healthcheck', () => {
    const [from, ...more] = all('FROM');
    const user = all('USER');
    const entrypoint = exec(all('ENTRYPOINT')[0]!);
    const healthcheck = all('HEALTHCHECK');

    expect(more).toEqual([]);
    expect(from).toMatch(/^(node:22(\.\d+)*-(\w+-)?slim|gcr\.io\/distroless\/nodejs22\S*)$/);
    expect(user).toEqual(['1337:1337']);
    expect(entrypoint).toEqual(['node', '/opt/ecs-mesh-agent/ecs-mesh-agent.mjs']);
    expect(healthcheck).toHaveLength(1);
    expect(exec(healthcheck[0]!)).toEqual([...entrypoint, '--healthcheck']);
    // USER comes after every RUN, so nothing the image runs at start is root's.
    expect(steps.findIndex(([n]) => n === 'USER')).toBeGreaterThan(steps.map(([n]) => n).lastIndexOf('RUN'));
  });
});
