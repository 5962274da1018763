/**
 * The context file `npm run local` writes while it runs, so the `ecs-mesh` CLI and `npm run invoke`
 * find the local stack without any environment: its API URL, the region and credentials it accepts
 * (moto's `testing`/`testing`), the local AWS endpoint and the resources it created.
 *
 * It lives in the checkout, `.local/context.json` (git-ignored), or where ECS_MESH_LOCAL_CONTEXT
 * says; the process that wrote it removes it when it stops. A file whose process is gone (the stack
 * was killed) is stale: readers say so in one line rather than send requests nowhere.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The context file's path: ECS_MESH_LOCAL_CONTEXT, else `.local/context.json` in the checkout. */
export function localContextPath(env: Record<string, string | undefined> = process.env): string {
  return env.ECS_MESH_LOCAL_CONTEXT || join(ROOT, '.local', 'context.json');
}

export const LocalContextSchema = z.object({
  version: z.literal(1),
  /** The process serving the stack; gone means the file is stale. */
  pid: z.number(),
  startedAt: z.string(),
  apiUrl: z.string(),
  region: z.string(),
  /** `moto`: the only credentials the local stack (and its IAM authorizer) accept. */
  credentials: z.object({ mode: z.literal('moto'), accessKeyId: z.string(), secretAccessKey: z.string() }),
  awsEndpoint: z.string(),
  meshDir: z.string(),
  resources: z.object({
    policyTable: z.string(),
    policyAuditTable: z.string(),
    enrollmentTable: z.string(),
    authTable: z.string(),
    queueUrl: z.string(),
    deadLetterQueueUrl: z.string(),
  }),
});
export type LocalContext = z.infer<typeof LocalContextSchema>;

/** What a reader finds: nothing, a running stack, or a file left by a stack that is gone (or unreadable). */
export type LocalContextLookup = { state: 'none' } | { state: 'running'; context: LocalContext } | { state: 'stale'; message: string };

export function writeLocalContext(file: string, context: LocalContext): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(context, null, 2)}\n`);
}

/** Removes the file if it is still this process's (a newer stack may have replaced it). */
export function removeLocalContext(file: string, pid = process.pid): void {
  const found = readLocalContext(file, () => true);
  if (found.state === 'running' && found.context.pid === pid) rmSync(file, { force: true });
}

/** Reads the file; `alive` is asked whether the stack's process still runs. */
export function readLocalContext(file: string, alive: (pid: number) => boolean = processAlive): LocalContextLookup {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    return { state: 'stale', message: `cannot read the local stack's context ${file}: ${(error as Error).message}` };
  }
  const parsed = LocalContextSchema.safeParse(jsonOrUndefined(text));
  if (!parsed.success) return { state: 'stale', message: `${file} is not a context \`npm run local\` wrote: delete it and start \`npm run local\`` };
  const context = parsed.data;
  if (!alive(context.pid)) return { state: 'stale', message: `the local stack in ${file} (${context.apiUrl}, pid ${context.pid}) is not running: start \`npm run local\`, or delete the file` };
  return { state: 'running', context };
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
