import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writePrivateFile } from '../../cli/agent/private-file.js';

describe('writePrivateFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-token-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates the directory and writes the token with mode 0400', async () => {
    const path = join(dir, 'var/run/ecs-mesh/token');

    await writePrivateFile(path, 'header.payload.signature');

    expect(await readFile(path, 'utf8')).toBe('header.payload.signature');
    expect((await stat(path)).mode & 0o777).toBe(0o400);
  });

  it('replaces a previous read-only token and leaves no temporary file', async () => {
    const path = join(dir, 'token');
    await writePrivateFile(path, 'first');

    await writePrivateFile(path, 'second');

    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['token']);
  });

  it('fails, leaving nothing behind, when the target is a directory', async () => {
    const path = join(dir, 'token');
    await writePrivateFile(join(path, 'inner'), 'x');

    await expect(writePrivateFile(path, 'y')).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(await readdir(dir)).toEqual(['token']);
  });

  // Only root may give a file away; the agent does so only as root (TSB's `user: "0"`).
  it.runIf(process.getuid?.() === 0)('hands the file to the given owner, still 0400, before it appears', async () => {
    const path = join(dir, 'token');

    await writePrivateFile(path, 'header.payload.signature', { uid: 4242, gid: 4343 });

    const info = await stat(path);
    expect({ uid: info.uid, gid: info.gid, mode: info.mode & 0o777 }).toEqual({ uid: 4242, gid: 4343, mode: 0o400 });
  });
});
