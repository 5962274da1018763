/**
 * Writes what the proxy reads (the token, its entry's name, its probe), atomically: the proxy sees
 * the old file or the new one, never a torn file, even if the agent dies mid-write or the node
 * loses power.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `content` to `path` with mode 0400 (temp file in the same dir, fsync, rename), creating the
 * dir. With `owner` (a root agent), the file is chowned before the rename, so the proxy never sees
 * a file it cannot read.
 */
export async function writePrivateFile(path: string, content: string, owner?: { uid: number; gid: number }): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // Same directory, so rename(2) stays on one filesystem and is atomic.
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // O_EXCL: never write through a file (or link) someone else placed at the temp name.
  const handle = await open(temp, 'wx', 0o400);
  try {
    await handle.writeFile(content, 'utf8');
    if (owner) await handle.chown(owner.uid, owner.gid);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

// The rename is durable only once the directory entry is on disk; some filesystems refuse a
// directory fsync, and the write has already succeeded, so that failure is ignored.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    return;
  }
}
