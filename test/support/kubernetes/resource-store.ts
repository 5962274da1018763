/**
 * The API server's object semantics for namespaced custom resources: uid, a global
 * resourceVersion, generation, preconditions, server-side apply and CRD validation.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { CrdValidator } from '../../../shared/core/crd-validation.js';
import {
  isPlainObject,
  mergeApply,
  ownershipAfterUpdate,
  renderManagedFields,
  type KubernetesObject,
  type Ownership,
} from './apply-merge.js';
import type { LabelSelector } from './label-selector.js';
import { ISTIO_RESOURCES, type IstioPlural } from './istio-crd-validators.js';
import { alreadyExistsStatus, conflictStatus, failureStatus, invalidStatus, notFoundStatus, type KubernetesStatus } from './status.js';

/** An HTTP status and JSON body for the double to send. */
export interface StoreAnswer {
  code: number;
  body: unknown;
}

/** One page of a list, as `limit` and `continue` ask for it. */
export interface ListPage {
  limit?: number;
  continue?: string;
}

interface StoredObject {
  object: KubernetesObject;
  ownership: Ownership;
}

const API_VERSION = 'networking.istio.io/v1';
// Fields only the server sets; a client's values are dropped (status belongs to the status subresource).
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp'];

/** In-memory objects of the resources the double serves. */
export class ResourceStore {
  private readonly objects = new Map<string, StoredObject>();
  private revision = 0;
  /** Bumped by {@link expireContinueTokens}: a token of an older epoch is answered 410 Gone. */
  private continueEpoch = 0;

  constructor(private readonly validators: Record<IstioPlural, CrdValidator>) {}

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.revision);
  }

  get(plural: IstioPlural, namespace: string, name: string): StoreAnswer {
    const stored = this.objects.get(key(plural, namespace, name));
    return stored ? { code: 200, body: this.render(stored) } : { code: 404, body: notFoundStatus(plural, name) };
  }

  /**
   * The objects matching `selector`, in key order, a page at a time when `page.limit` is set:
   * `metadata.continue` then names where the next page starts, and `remainingItemCount` how many
   * are left, as the API server's etcd3 store does. Unlike a real server, a later page shows the
   * objects as they are now, not at the first page's resourceVersion.
   */
  list(plural: IstioPlural, namespace: string | undefined, selector: LabelSelector, page: ListPage = {}): StoreAnswer {
    let after: string | undefined;
    if (page.continue !== undefined) {
      const token = decodeContinue(page.continue);
      if (!token) return { code: 400, body: failureStatus(400, 'continue key is not valid: the token could not be decoded') };
      if (token.epoch !== this.continueEpoch) return { code: 410, body: expiredStatus(this.continueToken(token.start)) };
      after = token.start;
    }
    const matching = [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${plural}/${namespace === undefined ? '' : `${namespace}/`}`))
      .sort(([a], [b]) => a.localeCompare(b))
      .filter(([k]) => after === undefined || k.localeCompare(after) > 0)
      .filter(([, stored]) => selector(stored.object.metadata.labels as Record<string, string> | undefined));
    const served = page.limit !== undefined && page.limit > 0 ? matching.slice(0, page.limit) : matching;
    const remaining = matching.length - served.length;
    const last = served.at(-1)?.[0];
    const metadata = { resourceVersion: this.resourceVersion, ...(remaining > 0 && last ? { continue: this.continueToken(last), remainingItemCount: remaining } : {}) };
    return { code: 200, body: { apiVersion: API_VERSION, kind: ISTIO_RESOURCES[plural].listKind, metadata, items: served.map(([, stored]) => this.render(stored)) } };
  }

  /** Every continue token handed out so far expires, as when etcd compacts past its resourceVersion. */
  expireContinueTokens(): void {
    this.continueEpoch += 1;
  }

  create(plural: IstioPlural, namespace: string, body: unknown, manager: string): StoreAnswer {
    const { object: checked, refusal } = this.checkBody(plural, namespace, undefined, body);
    if (!checked) return refusal;
    if (checked.metadata.resourceVersion !== undefined)
      return { code: 400, body: failureStatus(400, 'resourceVersion should not be set on objects to be created') };
    const name = String(checked.metadata.name ?? '');
    if (this.objects.has(key(plural, namespace, name))) return { code: 409, body: alreadyExistsStatus(plural, name) };
    return this.store(plural, undefined, withoutServerFields(checked), ownershipAfterUpdate(undefined, checked, new Map(), manager));
  }

  replace(plural: IstioPlural, namespace: string, name: string, body: unknown, manager: string): StoreAnswer {
    const write = this.checkReplace(plural, namespace, name, body);
    if ('refusal' in write) return write.refusal;
    const next = withoutServerFields(write.checked);
    return this.store(plural, write.live, next, ownershipAfterUpdate(write.live.object, next, write.live.ownership, manager));
  }

  /** A PUT's body checked, its object found and its preconditions met; else the refusal to answer. */
  private checkReplace(plural: IstioPlural, namespace: string, name: string, body: unknown): { checked: KubernetesObject; live: StoredObject } | { refusal: StoreAnswer } {
    const { object: checked, refusal } = this.checkBody(plural, namespace, name, body);
    if (!checked) return { refusal };
    const live = this.objects.get(key(plural, namespace, name));
    if (!live) return { refusal: { code: 404, body: notFoundStatus(plural, name) } };
    const stale = this.checkPreconditions(plural, live, checked.metadata.uid, checked.metadata.resourceVersion, true);
    return stale ? { refusal: stale } : { checked, live };
  }

  apply(plural: IstioPlural, namespace: string, name: string, body: unknown, manager: string, force: boolean): StoreAnswer {
    const { object: checked, refusal } = this.checkBody(plural, namespace, name, body);
    if (!checked) return refusal;
    if (checked.metadata.managedFields !== undefined) return { code: 400, body: failureStatus(400, 'metadata.managedFields must be nil') };
    const live = this.objects.get(key(plural, namespace, name));
    if (live) {
      const stale = this.checkPreconditions(plural, live, checked.metadata.uid, checked.metadata.resourceVersion, true);
      if (stale) return stale;
    }
    const base: KubernetesObject = live?.object ?? { apiVersion: API_VERSION, kind: ISTIO_RESOURCES[plural].kind, metadata: { name, namespace } };
    const merged = mergeApply(base, live?.ownership ?? new Map(), withoutServerFields(checked), manager, force);
    if ('conflicts' in merged) return { code: 409, body: conflictStatus(plural, name, `Apply failed with ${merged.conflicts.length} conflict(s): ${merged.conflicts.join('; ')}`) };
    return this.store(plural, live, merged.object, merged.ownership);
  }

  /**
   * PUT of the status subresource: only `status` is taken from the body (spec and metadata stay as
   * they are), guarded by the body's resourceVersion; the generation does not move. Managed fields
   * are not tracked for status.
   */
  replaceStatus(plural: IstioPlural, namespace: string, name: string, body: unknown): StoreAnswer {
    const write = this.checkReplace(plural, namespace, name, body);
    if ('refusal' in write) return write.refusal;
    const { checked, live } = write;
    if (isDeepStrictEqual(checked.status, live.object.status)) return { code: 200, body: this.render(live) };
    this.revision += 1;
    const object = structuredClone(live.object);
    if (checked.status === undefined) delete object.status;
    else object.status = structuredClone(checked.status);
    object.metadata = { ...object.metadata, resourceVersion: this.resourceVersion };
    const stored = { object, ownership: live.ownership };
    this.objects.set(key(plural, namespace, name), stored);
    return { code: 200, body: this.render(stored) };
  }

  delete(plural: IstioPlural, namespace: string, name: string, options: unknown): StoreAnswer {
    const live = this.objects.get(key(plural, namespace, name));
    if (!live) return { code: 404, body: notFoundStatus(plural, name) };
    const preconditions = isPlainObject(options) && isPlainObject(options.preconditions) ? options.preconditions : {};
    const failed = this.checkPreconditions(plural, live, preconditions.uid, preconditions.resourceVersion, false);
    if (failed) return failed;
    this.objects.delete(key(plural, namespace, name));
    this.revision += 1;
    return { code: 200, body: this.render(live) };
  }

  /** Every stored object of a kind, deep-copied. */
  snapshot(kind: string): KubernetesObject[] {
    return [...this.objects.values()].filter((s) => s.object.kind === kind).map((s) => this.render(s));
  }

  private store(plural: IstioPlural, live: StoredObject | undefined, candidate: KubernetesObject, ownership: Ownership): StoreAnswer {
    const name = String(candidate.metadata.name);
    const problems = this.validate(plural, candidate);
    if (problems.length > 0) return { code: 422, body: invalidStatus(ISTIO_RESOURCES[plural].kind, name, problems) };
    const object = structuredClone(candidate);
    // An apply that changes nothing is a no-op: no new resourceVersion, as on a real server.
    if (live && isDeepStrictEqual(withoutServerFields(object), withoutServerFields(live.object)) && isDeepStrictEqual(ownership, live.ownership))
      return { code: 200, body: this.render(live) };
    this.revision += 1;
    const previous = live?.object.metadata;
    const specChanged = !live || !isDeepStrictEqual(userContent(live.object), userContent(object));
    const generation = Number(previous?.generation ?? 0) + (specChanged ? 1 : 0);
    object.metadata = {
      ...object.metadata,
      uid: previous?.uid ?? randomUUID(),
      resourceVersion: this.resourceVersion,
      creationTimestamp: previous?.creationTimestamp ?? timestamp(),
      generation,
    };
    if (live?.object.status !== undefined) object.status = live.object.status;
    const stored = { object, ownership };
    this.objects.set(key(plural, String(object.metadata.namespace), name), stored);
    return { code: live ? 200 : 201, body: this.render(stored) };
  }

  private validate(plural: IstioPlural, candidate: KubernetesObject): string[] {
    const result = this.validators[plural](candidate);
    return result.ok ? [] : result.problems;
  }

  /** Request bodies must name the resource, and the name and namespace on the URL. */
  private checkBody(plural: IstioPlural, namespace: string, name: string | undefined, body: unknown): { object: KubernetesObject; refusal?: never } | { object?: never; refusal: StoreAnswer } {
    const refuse = (message: string) => ({ refusal: { code: 400, body: failureStatus(400, message) } });
    if (!isPlainObject(body) || !isPlainObject(body.metadata)) return refuse('the body must be an object with metadata');
    const { kind } = ISTIO_RESOURCES[plural];
    if (body.apiVersion !== API_VERSION || body.kind !== kind)
      return refuse(`the object must be ${API_VERSION}, Kind=${kind}; got ${String(body.apiVersion)}, Kind=${String(body.kind)}`);
    const meta = body.metadata;
    if (name !== undefined && meta.name !== name) return refuse(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace)
      return refuse('the namespace of the provided object does not match the namespace sent on the request');
    return { object: { ...body, metadata: { ...meta, namespace } } as KubernetesObject };
  }

  private checkPreconditions(plural: IstioPlural, live: StoredObject, uid: unknown, resourceVersion: unknown, onWrite: boolean): StoreAnswer | undefined {
    const name = String(live.object.metadata.name);
    const meta = live.object.metadata;
    if (uid !== undefined && uid !== '' && uid !== meta.uid)
      return { code: 409, body: conflictStatus(plural, name, `Precondition failed: UID in precondition: ${String(uid)}, UID in object meta: ${String(meta.uid)}`) };
    if (resourceVersion !== undefined && resourceVersion !== '' && resourceVersion !== meta.resourceVersion) {
      const why = onWrite
        ? 'the object has been modified; please apply your changes to the latest version and try again'
        : `Precondition failed: ResourceVersion in precondition: ${String(resourceVersion)}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`;
      return { code: 409, body: conflictStatus(plural, name, why) };
    }
    return undefined;
  }

  /** Opaque to clients, like a real server's (base64 of its version, resourceVersion and start key). */
  private continueToken(start: string): string {
    return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: this.revision, start, epoch: this.continueEpoch })).toString('base64url');
  }

  private render(stored: StoredObject): KubernetesObject {
    const object = structuredClone(stored.object);
    object.metadata.managedFields = renderManagedFields(stored.ownership, API_VERSION, String(object.metadata.creationTimestamp));
    return object;
  }
}

function decodeContinue(token: string): { start: string; epoch: number } | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return isPlainObject(decoded) && typeof decoded.start === 'string' && typeof decoded.epoch === 'number' ? { start: decoded.start, epoch: decoded.epoch } : undefined;
  } catch {
    return undefined;
  }
}

/** 410 Expired, with the token that would read the rest of the list inconsistently, as the API server answers. */
function expiredStatus(inconsistentContinue: string): KubernetesStatus {
  const status = failureStatus(
    410,
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
  );
  return { ...status, metadata: { continue: inconsistentContinue } };
}

function key(plural: string, namespace: string, name: string): string {
  return `${plural}/${namespace}/${name}`;
}

function withoutServerFields(obj: KubernetesObject): KubernetesObject {
  const metadata = Object.fromEntries(Object.entries(obj.metadata).filter(([k]) => !SERVER_METADATA.includes(k)));
  const rest = Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'status'));
  return { ...rest, metadata } as KubernetesObject;
}

function userContent(obj: KubernetesObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'metadata' && k !== 'status'));
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
