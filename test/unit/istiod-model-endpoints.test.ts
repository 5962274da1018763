/**
 * The istiod model's endpoints (test/support/istiod-model/endpoints.ts). Each `describe` names the
 * upstream test it ports, at ISTIO_COMMIT; the cases keep upstream's names and data.
 */
import { describe, expect, it } from 'vitest';
import {
  convertWorkloadEntryToWorkloadInstance,
  endpointsForService,
  isHealthy,
  parseHealthAnnotation,
  withDefaultedTargetPorts,
  type ModelService,
  type ModelWorkloadEntry,
} from '../support/istiod-model/endpoints.js';

const clusterId = 'fakeCluster';

describe('istio pilot/pkg/serviceregistry/serviceentry/conversion_test.go TestConvertWorkloadEntryToWorkloadInstance', () => {
  const workloadLabel = { app: 'wle' };
  const expectedLabel = { app: 'wle', 'topology.istio.io/cluster': clusterId };
  /** The expected labels of upstream's two "augment labels" rows, which differ only in the network. */
  const augmentedLabels = (network: string) => ({
    app: 'wle',
    'topology.kubernetes.io/region': 'region1',
    'topology.kubernetes.io/zone': 'zone1',
    'topology.istio.io/subzone': 'subzone1',
    'topology.istio.io/network': network,
    'topology.istio.io/cluster': clusterId,
  });
  const entry = (spec: ModelWorkloadEntry['spec'], labels?: Record<string, string>): ModelWorkloadEntry => ({
    metadata: { name: '', namespace: 'ns1', ...(labels ? { labels } : {}) },
    spec,
  });
  const rows: {
    name: string;
    wle: ModelWorkloadEntry;
    networkOf?: () => string;
    out: { labels: Record<string, string>; address: string; serviceAccount: string; tlsMode: string; network: string; locality: string; portMap: Record<string, number>; dnsServiceEntryOnly: boolean };
  }[] = [
    {
      name: 'simple',
      wle: entry({ address: '1.1.1.1', labels: workloadLabel, ports: { http: 80 }, serviceAccount: 'scooby' }),
      out: { labels: expectedLabel, address: '1.1.1.1', serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby', tlsMode: 'istio', network: '', locality: '', portMap: { http: 80 }, dnsServiceEntryOnly: false },
    },
    {
      name: 'simple - tls mode disabled',
      wle: entry({ address: '1.1.1.1', labels: { 'security.istio.io/tlsMode': 'disabled' }, ports: { http: 80 }, serviceAccount: 'scooby' }),
      out: {
        labels: { 'security.istio.io/tlsMode': 'disabled', 'topology.istio.io/cluster': clusterId },
        address: '1.1.1.1',
        serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby',
        tlsMode: 'disabled',
        network: '',
        locality: '',
        portMap: { http: 80 },
        dnsServiceEntryOnly: false,
      },
    },
    {
      name: 'unix domain socket',
      wle: entry({ address: 'unix://foo/bar', serviceAccount: 'scooby' }),
      out: { labels: { 'topology.istio.io/cluster': clusterId }, address: 'unix://foo/bar', serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby', tlsMode: 'istio', network: '', locality: '', portMap: {}, dnsServiceEntryOnly: true },
    },
    {
      name: 'DNS address',
      wle: entry({ address: 'scooby.com', serviceAccount: 'scooby' }),
      out: { labels: { 'topology.istio.io/cluster': clusterId }, address: 'scooby.com', serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby', tlsMode: 'istio', network: '', locality: '', portMap: {}, dnsServiceEntryOnly: true },
    },
    {
      name: 'metadata labels only',
      wle: entry({ address: '1.1.1.1', ports: { http: 80 }, serviceAccount: 'scooby' }, workloadLabel),
      out: { labels: expectedLabel, address: '1.1.1.1', serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby', tlsMode: 'istio', network: '', locality: '', portMap: { http: 80 }, dnsServiceEntryOnly: false },
    },
    {
      name: 'labels merge',
      wle: entry({ address: '1.1.1.1', labels: workloadLabel, ports: { http: 80 }, serviceAccount: 'scooby' }, { 'my-label': 'bar' }),
      out: {
        labels: { 'my-label': 'bar', app: 'wle', 'topology.istio.io/cluster': clusterId },
        address: '1.1.1.1',
        serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby',
        tlsMode: 'istio',
        network: '',
        locality: '',
        portMap: { http: 80 },
        dnsServiceEntryOnly: false,
      },
    },
    {
      name: 'augment labels',
      wle: entry({ address: '1.1.1.1', labels: workloadLabel, ports: { http: 80 }, locality: 'region1/zone1/subzone1', network: 'network1', serviceAccount: 'scooby' }),
      out: {
        labels: augmentedLabels('network1'),
        address: '1.1.1.1',
        serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby',
        tlsMode: 'istio',
        network: 'network1',
        locality: 'region1/zone1/subzone1',
        portMap: { http: 80 },
        dnsServiceEntryOnly: false,
      },
    },
    {
      name: 'augment labels: networkID get from cb',
      wle: entry({ address: '1.1.1.1', labels: workloadLabel, ports: { http: 80 }, locality: 'region1/zone1/subzone1', serviceAccount: 'scooby' }),
      networkOf: () => 'cb-network1',
      out: {
        labels: augmentedLabels('cb-network1'),
        address: '1.1.1.1',
        serviceAccount: 'spiffe://cluster.local/ns/ns1/sa/scooby',
        tlsMode: 'istio',
        // Upstream's endpoint keeps the spec's (empty) network; only the label takes the callback's.
        network: '',
        locality: 'region1/zone1/subzone1',
        portMap: { http: 80 },
        dnsServiceEntryOnly: false,
      },
    },
  ];
  it.each(rows)('$name', ({ wle, networkOf, out }) => {
    const instance = convertWorkloadEntryToWorkloadInstance(wle, { clusterId, ...(networkOf ? { networkOf } : {}) });
    expect(instance).toMatchObject({ namespace: 'ns1', ...out });
  });
});

/** The fixtures of upstream's TestWorkloadInstances (pilot/pkg/serviceregistry/serviceregistry_test.go). */
const namespace = 'namespace';
const labels = { app: 'foo' };
const service: ModelService = { metadata: { name: 'service', namespace }, spec: { ports: [{ name: 'http', port: 80 }], selector: labels, clusterIP: '9.9.9.9' } };
const workloadEntry: ModelWorkloadEntry = { metadata: { name: 'workload', namespace }, spec: { address: '2.3.4.5', labels } };

/** Upstream's makeService defaults targetPort as the API server does; expectEndpoints reads `address:port` of one service port. */
function endpointsOn(svc: ModelService, entries: ModelWorkloadEntry[], port: number): string[] {
  return endpointsForService(withDefaultedTargetPorts(svc), entries, { clusterId: 'Kubernetes' })
    .filter((e) => e.servicePort === port)
    .map((e) => `${e.address}:${e.endpointPort}`);
}

/** upstream: setHealth (serviceregistry_test.go). */
function setHealth(entry: ModelWorkloadEntry, healthy: boolean): ModelWorkloadEntry {
  return {
    ...entry,
    metadata: { ...entry.metadata, annotations: { ...entry.metadata.annotations, 'proxy.istio.io/health-checks-enabled': 'true' } },
    status: { conditions: [{ type: 'Healthy', status: healthy ? 'True' : 'False' }] },
  };
}

describe('istio pilot/pkg/serviceregistry/serviceregistry_test.go TestWorkloadInstances (the "Service selects WorkloadEntry" cases)', () => {
  it('Service selects WorkloadEntry', () => {
    expect(endpointsOn(service, [workloadEntry], 80)).toEqual(['2.3.4.5:80']);
  });

  it('Service selects WorkloadEntry with port name', () => {
    const svc: ModelService = { ...service, spec: { ...service.spec, ports: [{ name: 'my-port', port: 80 }] } };
    const entry: ModelWorkloadEntry = { ...workloadEntry, spec: { ...workloadEntry.spec, ports: { 'my-port': 8080 } } };
    expect(endpointsOn(svc, [entry], 80)).toEqual(['2.3.4.5:8080']);
  });

  it('Service selects WorkloadEntry with targetPort name', () => {
    const svc: ModelService = { ...service, spec: { ...service.spec, ports: [{ name: 'http', port: 80, targetPort: 'my-port' }] } };
    const entry: ModelWorkloadEntry = { ...workloadEntry, spec: { ...workloadEntry.spec, ports: { 'my-port': 8080 } } };
    expect(endpointsOn(svc, [entry], 80)).toEqual(['2.3.4.5:8080']);
  });

  it('Service selects WorkloadEntry with targetPort number', () => {
    const svc: ModelService = {
      ...service,
      spec: {
        ...service.spec,
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'http2', port: 90, targetPort: 9090 },
        ],
      },
    };
    expect(endpointsOn(svc, [workloadEntry], 80)).toEqual(['2.3.4.5:8080']);
    expect(endpointsOn(svc, [workloadEntry], 90)).toEqual(['2.3.4.5:9090']);
  });

  it('Service selects WorkloadEntry: update service', () => {
    expect(endpointsOn(service, [workloadEntry], 80)).toEqual(['2.3.4.5:80']);
    const moved: ModelService = { ...service, spec: { ...service.spec, ports: [{ name: 'http', port: 8080 }] } };
    expect(endpointsOn(moved, [workloadEntry], 80)).toEqual([]);
    expect(endpointsOn(moved, [workloadEntry], 8080)).toEqual(['2.3.4.5:8080']);
    const retargeted: ModelService = { ...service, spec: { ...service.spec, ports: [{ name: 'http', port: 8080, targetPort: 9090 }] } };
    expect(endpointsOn(retargeted, [workloadEntry], 80)).toEqual([]);
    expect(endpointsOn(retargeted, [workloadEntry], 8080)).toEqual(['2.3.4.5:9090']);
  });

  it('Service selects WorkloadEntry: update workloadEntry', () => {
    expect(endpointsOn(service, [workloadEntry], 80)).toEqual(['2.3.4.5:80']);
    expect(endpointsOn(service, [{ ...workloadEntry, spec: { ...workloadEntry.spec, address: '3.4.5.6' } }], 80)).toEqual(['3.4.5.6:80']);
    expect(endpointsOn(service, [], 80)).toEqual([]);
  });

  it('Service selects WorkloadEntry: health status', () => {
    // Start as unhealthy, should have no instances
    expect(endpointsOn(service, [setHealth(workloadEntry, false)], 80)).toEqual([]);
    // Mark healthy, get instances
    expect(endpointsOn(service, [setHealth(workloadEntry, true)], 80)).toEqual(['2.3.4.5:80']);
    // Set back to unhealthy
    expect(endpointsOn(service, [setHealth(workloadEntry, false)], 80)).toEqual([]);
    // Remove health status entirely
    expect(endpointsOn(service, [workloadEntry], 80)).toEqual(['2.3.4.5:80']);
  });
});

describe('istio pilot/pkg/serviceregistry/kube/controller/controller_test.go TestEndpoints_WorkloadInstances', () => {
  it('uses the port the entry maps to the targetPort name, and drops an entry without it', () => {
    const svc: ModelService = {
      metadata: { name: 'ratings', namespace: 'bookinfo-ratings' },
      spec: { ports: [{ name: 'http-port', port: 8080, protocol: 'TCP', targetPort: 'http' }], selector: { app: 'ratings' } },
    };
    const ratings = (name: string, ports?: Record<string, number>): ModelWorkloadEntry => ({
      metadata: { name, namespace: 'bookinfo-ratings' },
      spec: { address: '2.2.2.2', labels: { app: 'ratings' }, ...(ports ? { ports } : {}) },
    });
    // Upstream's third instance has two addresses, which a WorkloadEntry (one address) cannot express.
    const got = endpointsForService(svc, [ratings('ratings-1'), ratings('ratings-2', { http: 8082 })], { clusterId: 'Kubernetes' });
    // "expect both WorkloadEntries even though they have the same IP": ratings-1 has no port named http.
    expect(got.map((e) => `${e.address}:${e.endpointPort}`)).toEqual(['2.2.2.2:8082']);
  });
});

describe('the endpoint fields istiod serves for an entry (conversion.go convertWorkloadEntryToWorkloadInstance, kube controller serviceInstanceFromWorkloadInstance)', () => {
  it('carries weight, locality, network, identity and the service port', () => {
    const entry: ModelWorkloadEntry = {
      metadata: { name: 'ratings-task', namespace },
      spec: { address: '10.0.1.23', labels, ports: { http: 9080 }, weight: 3, locality: 'eu-west-1/eu-west-1a', network: 'vpc-0abc', serviceAccount: 'ratings' },
    };
    expect(endpointsForService(withDefaultedTargetPorts(service), [entry], { clusterId: 'Kubernetes' })).toEqual([
      {
        workloadEntry: 'namespace/ratings-task',
        address: '10.0.1.23',
        endpointPort: 9080,
        servicePortName: 'http',
        servicePort: 80,
        weight: 3,
        locality: 'eu-west-1/eu-west-1a',
        network: 'vpc-0abc',
        labels: {
          app: 'foo',
          'topology.kubernetes.io/region': 'eu-west-1',
          'topology.kubernetes.io/zone': 'eu-west-1a',
          'topology.istio.io/network': 'vpc-0abc',
          'topology.istio.io/cluster': 'Kubernetes',
        },
        tlsMode: 'istio',
        serviceAccount: 'spiffe://cluster.local/ns/namespace/sa/ratings',
      },
    ]);
  });

  it('selects nothing for a headless Service, a Service without selector, or an entry of another namespace', () => {
    expect(endpointsOn({ ...service, spec: { ...service.spec, clusterIP: 'None' } }, [workloadEntry], 80)).toEqual([]);
    expect(endpointsOn({ ...service, spec: { ports: service.spec.ports } }, [workloadEntry], 80)).toEqual([]);
    expect(endpointsOn(service, [{ ...workloadEntry, metadata: { ...workloadEntry.metadata, namespace: 'other' } }], 80)).toEqual([]);
  });
});

// No upstream test tables these two; the rows follow Go's strconv.ParseBool and status.GetBoolCondition.
describe('parseHealthAnnotation and isHealthy (conversion.go)', () => {
  it.each([
    ['', false],
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['1', true],
    ['t', true],
    ['false', false],
    ['yes', false],
    [' true', false],
  ])('parseHealthAnnotation(%j) is %s', (value, want) => {
    expect(parseHealthAnnotation(value)).toBe(want);
  });

  it.each([
    ['no health-checks annotation: healthy', undefined, undefined, true],
    ['annotation "false": healthy whatever the condition', 'false', 'False', true],
    ['annotation "true", no condition yet: unhealthy', 'true', undefined, false],
    ['annotation "true", Healthy=True', 'true', 'True', true],
    ['annotation "true", Healthy=False', 'true', 'False', false],
    ['annotation "true", Healthy=Unknown', 'true', 'Unknown', false],
  ])('%s', (_name, annotation, conditionStatus, want) => {
    const entry: ModelWorkloadEntry = {
      metadata: { name: 'w', namespace, ...(annotation === undefined ? {} : { annotations: { 'proxy.istio.io/health-checks-enabled': annotation } }) },
      spec: { address: '2.3.4.5' },
      ...(conditionStatus === undefined ? {} : { status: { conditions: [{ type: 'Healthy', status: conditionStatus }] } }),
    };
    expect(isHealthy(entry)).toBe(want);
  });
});

describe('a Service with two ports of one number (kube controller serviceInstancesFromWorkloadInstances looks ports up by number)', () => {
  it('serves the first port twice, as upstream does for a TCP and a UDP port of one number', () => {
    const svc: ModelService = {
      ...service,
      spec: {
        ...service.spec,
        ports: [
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 5353 },
          { name: 'dns-udp', port: 53, protocol: 'UDP', targetPort: 5354 },
        ],
      },
    };
    const got = endpointsForService(svc, [workloadEntry], { clusterId: 'Kubernetes' });
    expect(got.map((e) => `${e.servicePortName} ${e.address}:${e.endpointPort}`)).toEqual(['dns-tcp 2.3.4.5:5353', 'dns-tcp 2.3.4.5:5353']);
  });
});
