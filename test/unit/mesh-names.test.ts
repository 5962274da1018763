/**
 * Mesh names' pure decisions (shared/core/mesh-names.ts, upstream-declaration.ts,
 * loopback-addresses.ts): the group's declaration, the address choice, the record changes and
 * their batches, the listeners and the Sidecar, which must pass Istio's CRD and istiod's rules.
 */
import { describe, expect, it } from 'vitest';
import { validateSidecar as validateSidecarCrd } from '../../shared/core/crd-validation.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { candidateAddress, chooseAddress, isInRange, parseLoopbackRange, rangeSize, type LoopbackRange } from '../../shared/core/loopback-addresses.js';
import { changeBatches, MAX_RECORD_ELEMENTS_PER_CALL, meshHost, NAME_TTL_SECONDS, planListeners, recordChanges, renderSidecar, type MeshService, type ZoneRecord } from '../../shared/core/mesh-names.js';
import { NAME_REASONS } from '../../shared/core/reasons.js';
import { APP_PORT_ANNOTATION, parseUpstreams, readGroupDeclaration, UPSTREAMS_ANNOTATION } from '../../shared/core/upstream-declaration.js';
import { validateSidecar as validateSidecarIstiod } from '../support/istiod-model/validation.js';

const ZONE = 'svc.cluster.local';

function range(cidr = '127.1.0.0/16'): LoopbackRange {
  const parsed = parseLoopbackRange(cidr);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.range;
}

function aGroup(annotations: Record<string, string> = {}, ports: Record<string, number> = { http: 9080 }): WorkloadGroup {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadGroup',
    metadata: { name: 'ratings', namespace: 'bookinfo', annotations },
    spec: { metadata: { labels: { app: 'ratings', 'ecsmesh.io/platform': 'ecs' } }, template: { serviceAccount: 'bookinfo-ratings', ports } },
  };
}

const service = (namespace: string, name: string, ...ports: Array<{ port: number; name?: string; appProtocol?: string }>): MeshService => ({ namespace, name, ports });
const servicesByHost = (...services: MeshService[]) => new Map(services.map((s) => [meshHost(s, ZONE), s]));

describe('the declaration: ecsmesh.io/upstreams and ecsmesh.io/app-port on the WorkloadGroup', () => {
  it('reads names, ports and the app port', () => {
    const group = aGroup({ [UPSTREAMS_ANNOTATION]: ' Reviews.bookinfo.svc.cluster.local:9080 ,mongodb.db.svc.cluster.local,', [APP_PORT_ANNOTATION]: '8080' });
    expect(readGroupDeclaration(group, ZONE)).toEqual({
      declared: true,
      ok: true,
      appPort: 8080,
      upstreams: [
        { host: 'reviews.bookinfo.svc.cluster.local', service: { namespace: 'bookinfo', name: 'reviews' }, port: 9080 },
        { host: 'mongodb.db.svc.cluster.local', service: { namespace: 'db', name: 'mongodb' } },
      ],
    });
  });

  it('declares nothing by default: no annotation, no names', () => {
    expect(readGroupDeclaration(aGroup({ [APP_PORT_ANNOTATION]: '8080' }), ZONE)).toEqual({ declared: false });
  });

  it('takes an empty list as ingress only', () => {
    expect(readGroupDeclaration(aGroup({ [UPSTREAMS_ANNOTATION]: '', [APP_PORT_ANNOTATION]: '8080' }), ZONE)).toMatchObject({ declared: true, ok: true, upstreams: [] });
  });

  it.each([
    { case: 'a short name', text: 'reviews', problem: /must be <service>.<namespace>.svc.cluster.local/ },
    { case: 'another zone', text: 'reviews.bookinfo.svc.other.local', problem: /must be <service>/ },
    { case: 'a pod name (three labels)', text: 'a.reviews.bookinfo.svc.cluster.local', problem: /must be <service>/ },
    { case: 'port 0', text: 'reviews.bookinfo.svc.cluster.local:0', problem: /1 to 65535/ },
    { case: 'port 70000', text: 'reviews.bookinfo.svc.cluster.local:70000', problem: /1 to 65535/ },
    { case: 'a name twice', text: 'reviews.bookinfo.svc.cluster.local:9080,reviews.bookinfo.svc.cluster.local:9080', problem: /declared twice/ },
  ])('refuses $case with UPSTREAMS_INVALID and says why', ({ text, problem }) => {
    const declaration = readGroupDeclaration(aGroup({ [UPSTREAMS_ANNOTATION]: text, [APP_PORT_ANNOTATION]: '8080' }), ZONE);
    expect(declaration).toMatchObject({ declared: true, ok: false, reason: NAME_REASONS.UPSTREAMS_INVALID });
    expect(declaration.declared && !declaration.ok && declaration.problems.join('\n')).toMatch(problem);
  });

  it.each(['', 'http', '8080.5', '-1', '1e3', '65536'])('refuses app port %j with APP_PORT_INVALID', (appPort) => {
    const annotations = { [UPSTREAMS_ANNOTATION]: 'reviews.bookinfo.svc.cluster.local' };
    expect(readGroupDeclaration(aGroup(appPort === '' ? annotations : { ...annotations, [APP_PORT_ANNOTATION]: appPort }), ZONE)).toMatchObject({
      declared: true,
      ok: false,
      reason: NAME_REASONS.APP_PORT_INVALID,
    });
  });

  it('lists every bad entry, not only the first', () => {
    const parsed = parseUpstreams('a,b.c.svc.cluster.local,d', ZONE);
    expect(parsed.ok === false && parsed.problems).toHaveLength(2);
  });
});

describe('loopback addresses: meshNameCidr', () => {
  it.each([
    { cidr: '10.0.0.0/16', problem: /not inside 127.0.0.0\/8/ },
    { cidr: '127.1.0.1/16', problem: /host bits/ },
    { cidr: '127.1.0.0/31', problem: /8 to 30/ },
    { cidr: '127.1.0.0', problem: /not an IPv4 CIDR/ },
  ])('refuses $cidr', ({ cidr, problem }) => {
    const parsed = parseLoopbackRange(cidr);
    expect(parsed.ok === false && parsed.problem).toMatch(problem);
  });

  it('hands out the range without its network and broadcast addresses', () => {
    const r = range('127.1.0.0/30');
    expect(rangeSize(r)).toBe(2);
    expect(['127.1.0.0', '127.1.0.1', '127.1.0.2', '127.1.0.3'].map((a) => isInRange(r, a))).toEqual([false, true, true, false]);
  });

  it('starts from the same address for a name every time, and moves past taken ones', () => {
    const r = range();
    const first = chooseAddress(r, 'reviews.bookinfo.svc.cluster.local', new Set());
    expect(chooseAddress(r, 'reviews.bookinfo.svc.cluster.local', new Set())).toBe(first);
    const next = chooseAddress(r, 'reviews.bookinfo.svc.cluster.local', new Set([first!]));
    expect(next).not.toBe(first);
    expect(isInRange(r, next!)).toBe(true);
  });

  it('never hands out 127.0.0.1, and nothing once the range is full', () => {
    const r = range('127.0.0.0/30');
    const handed = new Set<string>();
    for (let attempt = 0; attempt < 4; attempt++) {
      const address = candidateAddress(r, 'x.y.svc.cluster.local', attempt);
      if (address) handed.add(address);
    }
    expect([...handed]).toEqual(['127.0.0.2']);
    expect(chooseAddress(r, 'x.y.svc.cluster.local', new Set(['127.0.0.2']))).toBeUndefined();
  });
});

describe('record changes', () => {
  const r = range();
  const wanted = new Map([
    ['reviews.bookinfo.svc.cluster.local', '127.1.0.5'],
    ['mongodb.bookinfo.svc.cluster.local', '127.1.0.6'],
  ]);
  const record = (name: string, address: string, ttl = NAME_TTL_SECONDS): ZoneRecord => ({ name, ttl, addresses: [address] });

  it('changes nothing when the zone is as wanted', () => {
    expect(recordChanges([record('reviews.bookinfo.svc.cluster.local', '127.1.0.5'), record('mongodb.bookinfo.svc.cluster.local', '127.1.0.6')], wanted, r)).toEqual([]);
  });

  it('upserts missing and drifted names, deletes ours no longer wanted exactly as listed, and leaves operators\' records alone', () => {
    const stale = record('gone.bookinfo.svc.cluster.local', '127.1.0.9', 300);
    const operators = record('db.bookinfo.svc.cluster.local', '10.0.0.4');
    const changes = recordChanges([record('reviews.bookinfo.svc.cluster.local', '127.1.0.7'), stale, operators], wanted, r);
    expect(changes).toEqual([
      { action: 'UPSERT', record: record('mongodb.bookinfo.svc.cluster.local', '127.1.0.6') },
      { action: 'UPSERT', record: record('reviews.bookinfo.svc.cluster.local', '127.1.0.5') },
      { action: 'DELETE', record: stale },
    ]);
  });

  it('batches within Route53\'s 1,000 elements a call, an UPSERT counting twice', () => {
    const upserts = Array.from({ length: 1000 }, (_, i) => ({ action: 'UPSERT' as const, record: record(`s${i}.ns.svc.cluster.local`, '127.1.0.5') }));
    const deletes = upserts.map((c) => ({ ...c, action: 'DELETE' as const }));
    expect(changeBatches(upserts).map((b) => b.length)).toEqual([500, 500]);
    expect(changeBatches(deletes).map((b) => b.length)).toEqual([MAX_RECORD_ELEMENTS_PER_CALL]);
    expect(changeBatches([])).toEqual([]);
  });
});

describe('listeners and the Sidecar', () => {
  const addresses = new Map([
    ['reviews.bookinfo.svc.cluster.local', '127.1.0.5'],
    ['details.bookinfo.svc.cluster.local', '127.1.0.6'],
    ['mongodb.bookinfo.svc.cluster.local', '127.1.0.7'],
    ['dns.kube-system.svc.cluster.local', '127.1.0.8'],
  ]);
  const services = servicesByHost(
    service('bookinfo', 'reviews', { port: 9080, name: 'http' }, { port: 9443, name: 'grpc-api' }),
    service('bookinfo', 'details', { port: 9443, name: 'http', appProtocol: 'http2' }),
    service('bookinfo', 'mongodb', { port: 27017, name: 'mongo' }),
    service('kube-system', 'dns', { port: 53, name: 'udp-dns' }),
  );
  const upstreams = (text: string) => {
    const parsed = parseUpstreams(text, ZONE);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    return parsed.upstreams;
  };

  it('gives each upstream port a listener on its service\'s address, and refuses what istio-proxy cannot bind or istiod would refuse', () => {
    const plan = planListeners(
      aGroup(),
      upstreams('mongodb.bookinfo.svc.cluster.local,reviews.bookinfo.svc.cluster.local,details.bookinfo.svc.cluster.local,dns.kube-system.svc.cluster.local,nope.bookinfo.svc.cluster.local,mongodb.bookinfo.svc.cluster.local:27018'),
      services,
      addresses,
    );
    expect(plan.listeners).toEqual([
      { host: 'mongodb.bookinfo.svc.cluster.local', service: { namespace: 'bookinfo', name: 'mongodb' }, address: '127.1.0.7', port: 27017, protocol: 'MONGO' },
      { host: 'reviews.bookinfo.svc.cluster.local', service: { namespace: 'bookinfo', name: 'reviews' }, address: '127.1.0.5', port: 9443, protocol: 'GRPC' },
    ]);
    expect(plan.refused.map((r) => [r.host, r.port, r.reason])).toEqual([
      ['reviews.bookinfo.svc.cluster.local', 9080, NAME_REASONS.UPSTREAM_PORT_CONFLICT],
      ['details.bookinfo.svc.cluster.local', 9443, NAME_REASONS.UPSTREAM_PORT_CONFLICT],
      ['dns.kube-system.svc.cluster.local', 53, NAME_REASONS.UPSTREAM_PORT_PRIVILEGED],
      ['nope.bookinfo.svc.cluster.local', undefined, NAME_REASONS.UPSTREAM_SERVICE_NOT_FOUND],
      ['mongodb.bookinfo.svc.cluster.local', 27018, NAME_REASONS.UPSTREAM_PORT_NOT_SERVED],
    ]);
  });

  it('refuses a listener the range had no address for, once its ports are otherwise fine', () => {
    const plan = planListeners(aGroup(), upstreams('mongodb.bookinfo.svc.cluster.local,dns.kube-system.svc.cluster.local'), services, new Map());

    expect(plan.listeners).toEqual([]);
    expect(plan.refused.map((r) => [r.host, r.port, r.reason])).toEqual([
      ['mongodb.bookinfo.svc.cluster.local', 27017, NAME_REASONS.ADDRESSES_EXHAUSTED],
      ['dns.kube-system.svc.cluster.local', 53, NAME_REASONS.UPSTREAM_PORT_PRIVILEGED],
    ]);
  });

  it('renders a Sidecar that Istio\'s CRD and istiod\'s validation accept, its listeners bound where the records point', () => {
    const group = aGroup();
    const { listeners } = planListeners(group, upstreams('mongodb.bookinfo.svc.cluster.local,reviews.bookinfo.svc.cluster.local:9443'), services, addresses);
    const sidecar = renderSidecar(group, 8080, listeners);
    expect(validateSidecarCrd(sidecar)).toEqual({ ok: true });
    expect(validateSidecarIstiod(sidecar)).toEqual({ errors: [], warnings: [] });
    expect(sidecar.spec).toEqual({
      workloadSelector: { labels: { app: 'ratings', 'ecsmesh.io/platform': 'ecs' } },
      ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080', captureMode: 'NONE' }],
      egress: [
        { port: { number: 27017, protocol: 'MONGO', name: 'mongo-mongodb-27017' }, bind: '127.1.0.7', captureMode: 'NONE', hosts: ['bookinfo/mongodb.bookinfo.svc.cluster.local'] },
        { port: { number: 9443, protocol: 'GRPC', name: 'grpc-reviews-9443' }, bind: '127.1.0.5', captureMode: 'NONE', hosts: ['bookinfo/reviews.bookinfo.svc.cluster.local'] },
      ],
    });
  });

  it('renders ingress only when the group declares no upstream', () => {
    const sidecar = renderSidecar(aGroup(), 8080, []);
    expect(sidecar.spec.egress).toBeUndefined();
    expect(validateSidecarIstiod(sidecar).errors).toEqual([]);
    expect(validateSidecarCrd(sidecar)).toEqual({ ok: true });
  });
});

// A few rows of istio pkg/config/validation/validation_test.go TestValidateSidecar at ISTIO_COMMIT
// (config namespace "bar"), for the checks the model ports.
describe('istio pkg/config/validation/validation_test.go TestValidateSidecar (the istiod model)', () => {
  const egress = (...listeners: Array<Record<string, unknown>>) => ({ egress: listeners });
  it.each<{ name: string; spec: Record<string, unknown>; valid: boolean; warning: boolean }>([
    { name: 'empty ingress and egress', spec: {}, valid: false, warning: false },
    { name: 'default', spec: egress({ hosts: ['*/*'] }), valid: true, warning: false },
    { name: 'workload selector without labels', spec: { ...egress({ hosts: ['*/*'] }), workloadSelector: {} }, valid: true, warning: true },
    { name: 'import local namespace with fqdn', spec: egress({ hosts: ['./foo.com'] }), valid: true, warning: false },
    { name: 'import all except a namespace', spec: egress({ hosts: ['*/*', '~ns1/*'] }), valid: true, warning: false },
    { name: 'exclude with invalid namespace', spec: egress({ hosts: ['*/*', '~Invalid_NS/*'] }), valid: false, warning: false },
    { name: 'bad egress host 1', spec: egress({ hosts: ['*'] }), valid: false, warning: false },
    { name: 'bad egress host 2', spec: egress({ hosts: ['/'] }), valid: false, warning: false },
    { name: 'empty egress host', spec: egress({ hosts: [] }), valid: false, warning: false },
    { name: 'multiple wildcard egress', spec: egress({ hosts: ['*/foo.com'] }, { hosts: ['ns1/bar.com'] }), valid: false, warning: false },
    { name: 'wildcard egress not in end', spec: egress({ hosts: ['*/foo.com'] }, { port: { protocol: 'http', number: 8080, name: 'h8080' }, hosts: ['ns1/bar.com'] }), valid: false, warning: false },
    { name: 'invalid Port', spec: egress({ port: { protocol: 'http1', number: 1000000, name: '' }, hosts: ['ns1/bar.com'] }), valid: false, warning: false },
    { name: 'invalid bind', spec: egress({ port: { protocol: 'http', number: 0, name: 'uds' }, hosts: ['ns1/bar.com'], bind: 'foobar:///@foo/bar/com' }), valid: false, warning: false },
    {
      name: 'duplicate ports',
      spec: egress({ port: { protocol: 'http', number: 90, name: 'foo' }, hosts: ['ns1/bar.com'] }, { port: { protocol: 'tcp', number: 90, name: 'tcp' }, hosts: ['ns2/bar.com'] }),
      valid: false,
      warning: false,
    },
    { name: 'ingress with invalid default endpoint in IPv4', spec: { ingress: [{ port: { protocol: 'http', number: 90, name: 'foo' }, defaultEndpoint: '1.1.1.1:90' }] }, valid: false, warning: false },
    { name: 'valid ingress and egress in IPv4', spec: { ingress: [{ port: { protocol: 'http', number: 90, name: 'foo' }, defaultEndpoint: '127.0.0.1:9999' }], ...egress({ hosts: ['*/*'] }) }, valid: true, warning: false },
    { name: 'sidecar egress only one wildcarded', spec: egress({ hosts: ['*/*', 'test/a.com'] }), valid: true, warning: true },
    { name: 'sidecar egress wildcarded ns', spec: egress({ hosts: ['*/b.com', 'test/a.com'] }), valid: true, warning: false },
    { name: 'sidecar egress duplicated with wildcarded same namespace', spec: egress({ hosts: ['test/*', 'test/a.com'] }), valid: true, warning: true },
    { name: 'invalid partial wildcard', spec: egress({ hosts: ['test/*a.com'] }), valid: false, warning: false },
    { name: 'sidecar egress duplicated with wildcarded same namespace .', spec: egress({ hosts: ['./*', 'bar/a.com'] }), valid: true, warning: true },
  ])('$name', ({ spec, valid, warning }) => {
    const result = validateSidecarIstiod({ metadata: { namespace: 'bar' }, spec });
    expect(result.errors.length === 0).toBe(valid);
    expect(result.warnings.length > 0).toBe(warning);
  });
});
