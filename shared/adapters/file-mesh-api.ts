/**
 * MeshApi over a directory of YAML manifests (docs/architecture.md#mesh-api: the local default, also usable for GitOps).
 * WorkloadGroups are read from `<dir>/workloadgroups/**` (multi-document files allowed); entries are
 * written one per file to `<dir>/workloadentries/<namespace>/<name>.yaml`.
 *
 * uid and resourceVersion live in annotations rather than `metadata`, so a GitOps tool can apply the
 * files as they are: a real API server reads a uid or resourceVersion in a request as a precondition.
 * creationTimestamp sits beside them, set as a server sets it: on create, to the second, never changed
 * by an update, a client's value ignored (the reconciler's grace period reads it).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { validateWorkloadEntry } from '../core/crd-validation.js';
import { ownValue } from '../core/own-keys.js';
import type { DeletePreconditions, ObjectRef, WorkloadEntry, WorkloadGroup } from '../core/kubernetes-types.js';
import { MeshApiError, MeshPreconditionError, MeshValidationError } from '../errors.js';
import type { MeshApi } from '../ports.js';

/** Annotation holding the entry's uid in its file. */
export const FILE_UID_ANNOTATION = 'ecsmesh.io/file-uid';
/** Annotation holding the entry's resourceVersion in its file. */
export const FILE_RESOURCE_VERSION_ANNOTATION = 'ecsmesh.io/file-resource-version';
/** Annotation holding the entry's creationTimestamp in its file. */
export const FILE_CREATION_TIMESTAMP_ANNOTATION = 'ecsmesh.io/file-creation-timestamp';

// Names come from events and the API; only DNS-1123 names may become path segments (no `..`, no `/`).
const SAFE_SEGMENT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** WorkloadGroups and WorkloadEntries as YAML files under one directory. */
export class FileMeshApi implements MeshApi {
  /** `now`: the clock creationTimestamp is read from (tests inject one). */
  constructor(
    private readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async getWorkloadGroup(ref: ObjectRef): Promise<WorkloadGroup | undefined> {
    const root = join(this.dir, 'workloadgroups');
    const files = (await listFiles(root, true)).filter((f) => /\.ya?ml$/.test(f)).sort();
    for (const file of files) {
      for (const doc of await readDocuments(join(root, file))) {
        const meta = isRecord(doc) && isRecord(doc.metadata) ? doc.metadata : undefined;
        if (doc.kind === 'WorkloadGroup' && meta?.name === ref.name && (meta.namespace ?? 'default') === ref.namespace) {
          return { ...(doc as unknown as WorkloadGroup), metadata: { ...(meta as unknown as WorkloadGroup['metadata']), namespace: ref.namespace } };
        }
      }
    }
    return undefined;
  }

  async getWorkloadEntry(ref: ObjectRef): Promise<WorkloadEntry | undefined> {
    const stored = await this.readEntry(ref);
    return stored && fromFile(stored);
  }

  async applyWorkloadEntry(entry: WorkloadEntry): Promise<WorkloadEntry> {
    const { metadata } = withoutServerFields(entry);
    const desired: WorkloadEntry = { apiVersion: entry.apiVersion, kind: entry.kind, metadata, spec: entry.spec };
    const checked = validateWorkloadEntry(desired);
    if (!checked.ok) throw new MeshValidationError(`WorkloadEntry ${metadata.namespace}/${metadata.name} is invalid`, checked.problems);
    const live = await this.readEntry(metadata);
    const current = live && fromFile(live);
    // Like a server-side apply that changes nothing, an identical entry keeps its resourceVersion.
    if (current && isDeepStrictEqual(withoutServerFields(current), desired)) return current;
    const uid = current?.metadata.uid ?? randomUUID();
    const resourceVersion = String(Number(current?.metadata.resourceVersion ?? '0') + 1);
    // Set once, on create; a file written before it was kept stays without one rather than look new.
    const creationTimestamp = current ? current.metadata.creationTimestamp : rfc3339Seconds(this.now());
    const annotations = { ...metadata.annotations, [FILE_UID_ANNOTATION]: uid, [FILE_RESOURCE_VERSION_ANNOTATION]: resourceVersion, ...(creationTimestamp ? { [FILE_CREATION_TIMESTAMP_ANNOTATION]: creationTimestamp } : {}) };
    await writeAtomically(this.entryPath(metadata), stringify({ ...desired, metadata: { ...metadata, annotations } }));
    return { ...desired, metadata: { ...metadata, uid, resourceVersion, ...(creationTimestamp ? { creationTimestamp } : {}) } };
  }

  async deleteWorkloadEntry(ref: ObjectRef, preconditions: DeletePreconditions): Promise<boolean> {
    const stored = await this.readEntry(ref);
    if (!stored) return false;
    const { uid, resourceVersion } = fromFile(stored).metadata;
    if (uid !== preconditions.uid)
      throw new MeshPreconditionError(`WorkloadEntry ${ref.namespace}/${ref.name}: UID in precondition: ${preconditions.uid}, UID in object: ${uid}`);
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== resourceVersion)
      throw new MeshPreconditionError(`WorkloadEntry ${ref.namespace}/${ref.name}: ResourceVersion in precondition: ${preconditions.resourceVersion}, in object: ${resourceVersion}`);
    try {
      await rm(this.entryPath(ref));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw new MeshApiError(`could not delete WorkloadEntry ${ref.namespace}/${ref.name}`, { cause: error });
    }
  }

  async listWorkloadEntries(labels: Record<string, string>, namespace?: string): Promise<WorkloadEntry[]> {
    const root = join(this.dir, 'workloadentries');
    const namespaces = namespace === undefined ? (await listFiles(root, false)).filter((n) => SAFE_SEGMENT.test(n)).sort() : [namespace];
    const entries: WorkloadEntry[] = [];
    for (const ns of namespaces) {
      if (!SAFE_SEGMENT.test(ns)) continue;
      const names = (await listFiles(join(root, ns), false)).filter((f) => f.endsWith('.yaml')).sort();
      for (const file of names) {
        const stored = await this.readEntry({ namespace: ns, name: file.slice(0, -'.yaml'.length) });
        if (stored && Object.entries(labels).every(([k, v]) => ownValue(stored.metadata.labels ?? {}, k) === v)) entries.push(fromFile(stored));
      }
    }
    return entries;
  }

  private entryPath(ref: ObjectRef): string {
    return join(this.dir, 'workloadentries', ref.namespace, `${ref.name}.yaml`);
  }

  private async readEntry(ref: ObjectRef): Promise<WorkloadEntry | undefined> {
    if (!SAFE_SEGMENT.test(ref.namespace) || !SAFE_SEGMENT.test(ref.name)) return undefined;
    const [doc] = await readDocuments(this.entryPath(ref));
    if (!doc) return undefined;
    if (doc.kind !== 'WorkloadEntry' || !isRecord(doc.metadata)) throw new MeshApiError(`${this.entryPath(ref)} does not hold a WorkloadEntry`, { retryable: false });
    return doc as unknown as WorkloadEntry;
  }
}

/** The entry as callers see it: uid, resourceVersion and creationTimestamp in metadata, our bookkeeping annotations gone. */
function fromFile(stored: WorkloadEntry): WorkloadEntry {
  const {
    [FILE_UID_ANNOTATION]: uid,
    [FILE_RESOURCE_VERSION_ANNOTATION]: resourceVersion,
    [FILE_CREATION_TIMESTAMP_ANNOTATION]: creationTimestamp,
    ...annotations
  } = stored.metadata.annotations ?? {};
  const { annotations: _stored, ...rest } = stored.metadata;
  const metadata: WorkloadEntry['metadata'] = rest;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  if (uid !== undefined) metadata.uid = uid;
  if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
  if (creationTimestamp !== undefined) metadata.creationTimestamp = creationTimestamp;
  return { ...stored, metadata };
}

/** The entry without the fields only the server sets (a client's values for them are ignored). */
function withoutServerFields(entry: WorkloadEntry): WorkloadEntry {
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _created, ...metadata } = entry.metadata;
  return { ...entry, metadata };
}

/** Kubernetes' timestamp format: RFC 3339 in UTC, to the second. */
function rfc3339Seconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function readDocuments(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return [];
    throw new MeshApiError(`could not read ${file}`, { cause: error });
  }
  const docs = parseAllDocuments(text);
  const broken = docs.find((d) => d.errors.length > 0);
  if (broken) throw new MeshApiError(`${file} is not valid YAML: ${broken.errors[0]?.message ?? ''}`, { retryable: false });
  return docs.map((d) => d.toJS() as unknown).filter(isRecord);
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  try {
    return await readdir(dir, { recursive });
  } catch (error) {
    if (isNotFound(error)) return [];
    throw new MeshApiError(`could not list ${dir}`, { cause: error });
  }
}

/** Readers see the old file or the new one, never half of it: rename is atomic within a filesystem. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = join(file, '..');
  const temp = join(dir, `.${randomUUID()}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(temp, text, 'utf8');
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new MeshApiError(`could not write ${file}`, { cause: error });
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
