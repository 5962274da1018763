/**
 * A Kubernetes API server double on loopback for `networking.istio.io/v1` WorkloadEntries and
 * WorkloadGroups (docs/architecture.md#mesh-api): bearer-token auth, Status errors, resourceVersion/uid, preconditions,
 * label selectors, server-side apply, and validation against the Istio CRD YAML. Given RBAC rules
 * (a ClusterRole's), it refuses with 403 what they do not grant, as a real server would.
 *
 * Unknown fields are always refused with 422, as a real server does with `fieldValidation=Strict`
 * (which KubernetesMeshApi sends); a real server's default would prune them with a warning.
 *
 * Lists page with `limit` and `continue` (a token expires on demand: 410 Gone). Opt-in, it
 * answers a burst as API Priority and Fairness does: beyond its seats, 429 with `Retry-After`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import type { KubernetesObject } from './kubernetes/apply-merge.js';
import { createIstioValidators, ISTIO_RESOURCES, type IstioPlural } from './kubernetes/istio-crd-validators.js';
import { LabelSelectorSyntaxError, parseLabelSelector } from './kubernetes/label-selector.js';
import { ResourceStore, type ListPage, type StoreAnswer } from './kubernetes/resource-store.js';
import { failureStatus } from './kubernetes/status.js';
import { allows, requestVerbs, type PolicyRule } from './kubernetes/rbac.js';
import { InFlightGauge } from './in-flight-gauge.js';

/** One request as the double saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The resource (plural) addressed, once routed. */
  resource?: string;
  /** The RBAC verbs the request was authorized as, e.g. `patch` and `create` for an apply that creates. */
  verbs: string[];
  /** Refused by the RBAC rules (403). */
  forbidden: boolean;
  /** Rejected by the priority-and-fairness seats (429). */
  throttled: boolean;
  /** The `User-Agent` header, e.g. `pilot-discovery/1.28.0` for istiod's writes. */
  userAgent?: string;
}

/**
 * A priority level of API Priority and Fairness reduced to what a client sees: `seats` requests
 * run at once, and one beyond them is rejected at once (a level with no queues) with 429 and
 * `Retry-After: retryAfterSeconds` (the real server sends 1). With 0 seats every request is.
 */
export interface PriorityAndFairness {
  seats: number;
  retryAfterSeconds?: number;
}

const PREFIX = '/apis/networking.istio.io/v1';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A write (create, update, apply, delete, status update) on WorkloadEntries, as it arrives. */
export function isWorkloadEntryWrite(request: Pick<RecordedRequest, 'method' | 'path'>): boolean {
  return WRITE_METHODS.has(request.method) && /\/workloadentries(\/|$)/.test(request.path);
}

const APPLY_PATCH = 'application/apply-patch+yaml';

/** A loopback Kubernetes API server for tests. */
export class KubernetesApiDouble {
  /** Every request received, in order (including refused ones). */
  readonly requests: RecordedRequest[] = [];
  private readonly store = new ResourceStore(createIstioValidators());
  private readonly services = new Map<string, KubernetesObject>();
  private failures: { status: number; remaining: number } | undefined;
  private outage: number | undefined;
  private latencyMs = 0;
  private priorityAndFairness: PriorityAndFairness | undefined;
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly gauges: { matches: (request: RecordedRequest) => boolean; gauge: InFlightGauge }[] = [];

  /** Bearer token → the RBAC rules of its identity (`undefined`: allowed everything). */
  private readonly identities = new Map<string, PolicyRule[] | undefined>();

  private constructor(
    private readonly server: Server,
    token: string,
    rbac: PolicyRule[] | undefined,
  ) {
    this.identities.set(token, rbac);
  }

  /** Starts a double on 127.0.0.1 with a free port that accepts only `Bearer <token>`, allowed only what `rbac` grants (everything without it). */
  static async start(options: { token: string; rbac?: PolicyRule[] }): Promise<KubernetesApiDouble> {
    const server = createServer();
    const double = new KubernetesApiDouble(server, options.token, options.rbac);
    server.on('request', (req, res) => void double.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Stops listening and drops open connections (including ones held by latency). */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Accepts `Bearer <token>` too, as another identity (istiod's, say) allowed what `rbac` grants (everything without it). */
  addIdentity(token: string, rbac?: PolicyRule[]): void {
    this.identities.set(token, rbac);
  }

  /** Creates an object directly (validated); throws with the Status message if refused. */
  seed(obj: KubernetesObject): KubernetesObject {
    const plural = pluralOf(String(obj.kind));
    const answer = this.store.create(plural, String(obj.metadata.namespace), structuredClone(obj), 'test-seed');
    if (answer.code !== 201) throw new Error(`seed refused (${answer.code}): ${JSON.stringify(answer.body)}`);
    return answer.body as KubernetesObject;
  }

  /**
   * Deletes an object as a cluster admin or an in-cluster controller would (outside our RBAC);
   * `false` when absent. With a resourceVersion, only that version is deleted (else 409, thrown).
   */
  adminDelete(kind: 'WorkloadEntry' | 'WorkloadGroup' | 'Sidecar', namespace: string, name: string, resourceVersion?: string): boolean {
    const answer = this.store.delete(pluralOf(kind), namespace, name, resourceVersion === undefined ? {} : { preconditions: { resourceVersion } });
    if (answer.code === 409) throw new RefusedByDouble('delete', answer);
    return answer.code === 200;
  }

  /** Replaces an object as a cluster admin (`kubectl replace`) or another controller (`manager`) would, validated; throws if refused. */
  adminReplace(obj: KubernetesObject, manager = 'test-admin'): KubernetesObject {
    const plural = pluralOf(String(obj.kind));
    const answer = this.store.replace(plural, String(obj.metadata.namespace), String(obj.metadata.name), structuredClone(obj), manager);
    if (answer.code !== 200) throw new RefusedByDouble('replace', answer);
    return answer.body as KubernetesObject;
  }

  /** Replaces an object's status (the status subresource), as a controller (`manager`) such as istiod does; throws if refused. */
  replaceStatus(obj: KubernetesObject, manager = 'test-admin'): KubernetesObject {
    const plural = pluralOf(String(obj.kind));
    const answer = this.store.replaceStatus(plural, String(obj.metadata.namespace), String(obj.metadata.name), structuredClone(obj), manager);
    if (answer.code !== 200) throw new RefusedByDouble('status replace', answer);
    return answer.body as KubernetesObject;
  }

  /** A deep copy of every stored object of `kind`. */
  objects(kind: 'WorkloadEntry' | 'WorkloadGroup' | 'Sidecar'): KubernetesObject[] {
    return this.store.snapshot(kind);
  }

  /**
   * Creates or replaces a core v1 Service (the names function lists them). Services are served
   * read-only, by list, from a plain map: no schema, apply or field managers.
   */
  putService(service: { metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: { ports: Array<{ name?: string; port: number; appProtocol?: string; targetPort?: number }> } }): void {
    this.services.set(`${service.metadata.namespace}/${service.metadata.name}`, { apiVersion: 'v1', kind: 'Service', ...structuredClone(service) });
  }

  /** Deletes a Service, as an operator would; `false` when absent. */
  deleteService(namespace: string, name: string): boolean {
    return this.services.delete(`${namespace}/${name}`);
  }

  /** Answers the next `count` requests with `status` (a Status object). */
  failNext(status: number, count = 1): void {
    this.failures = { status, remaining: count };
  }

  /** Answers every request with `status` until called with `undefined`. */
  setOutage(status: number | undefined): void {
    this.outage = status;
  }

  /** Delays every answer by `ms`. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Limits the requests served at once, as API Priority and Fairness does; `undefined` lifts the limit. */
  setPriorityAndFairness(limits: PriorityAndFairness | undefined): void {
    this.priorityAndFairness = limits;
  }

  /** Resolves once no request is being served (at once when none is). */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Counts the requests `matches` picks (by method, path, query, User-Agent) that are open at once,
   * from their arrival to their answer, throttled ones (429) included: the load clients put on the
   * server, not only what its seats let through. Requests already open are not counted.
   */
  watchInFlight(matches: (request: RecordedRequest) => boolean): InFlightGauge {
    const gauge = new InFlightGauge();
    this.gauges.push({ matches, gauge });
    return gauge;
  }

  /** Every list continue token handed out so far is answered 410 Gone, as after etcd compacted past it. */
  expireContinueTokens(): void {
    this.store.expireContinueTokens();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), verbs: [], forbidden: false, throttled: false, ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}) };
    this.requests.push(recorded);
    // 'close' comes once the answer is sent or the connection drops, whichever way handle() ends.
    for (const { matches, gauge } of this.gauges) if (matches(recorded)) res.once('close', gauge.enter());
    try {
      const body = await readBody(req);
      const limits = this.priorityAndFairness;
      if (limits && this.inFlight >= limits.seats) {
        // What k8s.io/apiserver's tooManyRequests writes: Retry-After and a plain-text body, no Status.
        recorded.throttled = true;
        res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(limits.retryAfterSeconds ?? 1) });
        res.end('Too many requests, please try again later.\n');
        return;
      }
      this.inFlight += 1;
      try {
        if (this.latencyMs > 0) await sleep(this.latencyMs);
        if (res.destroyed) return;
        const answer = this.answer(req, url, body, recorded);
        res.writeHead(answer.code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      } finally {
        this.inFlight -= 1;
        if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    } catch (error) {
      // A bug in the double must show up as a 500 in the test, not as an unhandled rejection.
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(failureStatus(500, `double failed: ${(error as Error).message}`)));
    }
  }

  private answer(req: IncomingMessage, url: URL, body: string, recorded: RecordedRequest): StoreAnswer {
    const injected = this.injectedFailure();
    if (injected !== undefined) return status(injected, 'injected failure');
    const token = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice('Bearer '.length) : undefined;
    if (token === undefined || !this.identities.has(token)) return status(401, 'Unauthorized');
    const services = /^\/api\/v1\/namespaces\/([^/]+)\/services$/.exec(url.pathname);
    if (services) return this.listServices(req, decodeURIComponent(services[1]!), recorded, token);
    const route = matchRoute(url.pathname);
    if (!route) return status(404, 'the server could not find the requested resource');
    const { plural, namespace, name, subresource } = route;
    const creates = req.method === 'PATCH' && name !== undefined && this.store.get(plural, namespace as string, name).code === 404;
    recorded.resource = plural;
    recorded.verbs = requestVerbs(req.method ?? 'GET', name === undefined, url.searchParams, creates);
    const rules = this.identities.get(token);
    // The status subresource is its own RBAC resource (`workloadentries/status`), as on a real server.
    const resource = subresource ? `${plural}/${subresource}` : plural;
    const refused = rules && recorded.verbs.find((verb) => !allows(rules, 'networking.istio.io', resource, verb));
    if (refused) {
      recorded.forbidden = true;
      const where = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
      return status(403, `${plural}.networking.istio.io${name ? ` "${name}"` : ''} is forbidden: User cannot ${refused} resource "${resource}" in API group "networking.istio.io" ${where}`);
    }
    // Without fieldManager, a write's manager is its User-Agent up to the first '/', as the API
    // server names it (k8s.io/apiserver handlers: prefixFromUserAgent): istiod's is `pilot-discovery`.
    const manager = url.searchParams.get('fieldManager') ?? req.headers['user-agent']?.split('/')[0] ?? 'unknown';
    try {
      switch (`${req.method} ${name === undefined ? 'collection' : subresource === 'status' ? 'status' : 'object'}`) {
        case 'GET collection':
          return this.store.list(plural, namespace, parseLabelSelector(url.searchParams.get('labelSelector') ?? ''), listPage(url.searchParams));
        case 'POST collection':
          return namespace === undefined ? status(405, 'create needs a namespace') : this.store.create(plural, namespace, parseJson(body), manager);
        case 'GET object':
          return this.store.get(plural, namespace as string, name as string);
        case 'PUT object':
          return this.store.replace(plural, namespace as string, name as string, parseJson(body), manager);
        case 'DELETE object':
          return this.store.delete(plural, namespace as string, name as string, body.trim() === '' ? {} : parseJson(body));
        case 'PUT status':
          return this.store.replaceStatus(plural, namespace as string, name as string, parseJson(body), manager);
        case 'PATCH object':
          return this.patch(req, url, plural, namespace as string, name as string, body);
        default:
          return status(405, `${req.method} is not supported here`);
      }
    } catch (error) {
      if (error instanceof LabelSelectorSyntaxError || error instanceof BodySyntaxError) return status(400, error.message);
      throw error;
    }
  }

  /** GET of a namespace's Services (core group ""), one page. */
  private listServices(req: IncomingMessage, namespace: string, recorded: RecordedRequest, token: string): StoreAnswer {
    recorded.resource = 'services';
    recorded.verbs = req.method === 'GET' ? ['list'] : [String(req.method).toLowerCase()];
    const rules = this.identities.get(token);
    if (rules && !allows(rules, '', 'services', recorded.verbs[0]!)) {
      recorded.forbidden = true;
      return status(403, `services is forbidden: User cannot ${recorded.verbs[0]} resource "services" in API group "" in the namespace "${namespace}"`);
    }
    if (req.method !== 'GET') return status(405, `${req.method} is not supported here`);
    const items = [...this.services.values()].filter((s) => s.metadata.namespace === namespace);
    return { code: 200, body: { apiVersion: 'v1', kind: 'ServiceList', metadata: { resourceVersion: this.store.resourceVersion }, items } };
  }

  private patch(req: IncomingMessage, url: URL, plural: IstioPlural, namespace: string, name: string, body: string): StoreAnswer {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (contentType !== APPLY_PATCH) return status(415, `the body of the request was in an unknown format - accepted media types include: ${APPLY_PATCH}`);
    const manager = url.searchParams.get('fieldManager');
    if (!manager) return status(400, 'PATCH, application/apply-patch+yaml requests must include a fieldManager');
    let config: unknown;
    try {
      config = parseYaml(body);
    } catch (error) {
      throw new BodySyntaxError(`error decoding YAML: ${(error as Error).message}`);
    }
    return this.store.apply(plural, namespace, name, config, manager, url.searchParams.get('force') === 'true');
  }

  private injectedFailure(): number | undefined {
    if (this.outage !== undefined) return this.outage;
    if (!this.failures || this.failures.remaining <= 0) return undefined;
    this.failures.remaining -= 1;
    return this.failures.status;
  }
}

class BodySyntaxError extends Error {}

/** A direct (in-process) write the double refused, with the HTTP code it would have answered. */
export class RefusedByDouble extends Error {
  readonly code: number;
  constructor(what: string, answer: StoreAnswer) {
    super(`${what} refused (${answer.code}): ${JSON.stringify(answer.body)}`);
    this.code = answer.code;
  }
}

/** `limit` (a positive integer, else the whole list, as the API server treats it) and `continue`. */
function listPage(query: URLSearchParams): ListPage {
  const limit = Number(query.get('limit') ?? '');
  const token = query.get('continue');
  return { ...(Number.isInteger(limit) && limit > 0 ? { limit } : {}), ...(token ? { continue: token } : {}) };
}

function status(code: number, message: string): StoreAnswer {
  return { code, body: failureStatus(code, message) };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new BodySyntaxError(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

/** `/apis/networking.istio.io/v1[/namespaces/{ns}]/{plural}[/{name}[/status]]` */
function matchRoute(path: string): { plural: IstioPlural; namespace?: string; name?: string; subresource?: 'status' } | undefined {
  if (!path.startsWith(`${PREFIX}/`)) return undefined;
  const parts = path.slice(PREFIX.length + 1).split('/').map(decodeURIComponent);
  const [first, namespace, plural, name, subresource, ...rest] = parts;
  if (first !== 'namespaces') return parts.length === 1 && isPlural(first) ? { plural: first } : undefined;
  if (!namespace || !isPlural(plural) || rest.length > 0 || name === '') return undefined;
  if (subresource !== undefined) return subresource === 'status' && name !== undefined ? { plural, namespace, name, subresource } : undefined;
  return name === undefined ? { plural, namespace } : { plural, namespace, name };
}

function isPlural(value: string | undefined): value is IstioPlural {
  return value !== undefined && Object.hasOwn(ISTIO_RESOURCES, value);
}

function pluralOf(kind: string): IstioPlural {
  const plural = (Object.keys(ISTIO_RESOURCES) as IstioPlural[]).find((p) => ISTIO_RESOURCES[p].kind === kind);
  if (!plural) throw new Error(`the double does not serve kind ${kind}`);
  return plural;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
