import { describe, expect, it } from 'vitest';
import { entryLabels, isReservedLabelKey, type DroppedLabel } from '../../shared/core/task-labels.js';
import { aGroup } from '../fixtures/builders.js';

/** The builders' group (it sets app=ratings and version=v1), letting its tasks set `keys`. */
function groupOptingIn(keys?: string) {
  const group = aGroup();
  if (keys !== undefined) group.metadata.annotations = { 'ecsmesh.io/task-label-keys': keys };
  return group;
}
const tag = (key: string) => `ecsmesh.io/label/${key}`;

describe('entryLabels', () => {
  it.each([
    { case: 'an opted-in key', keys: 'track', tags: { [tag('track')]: 'canary' }, labels: { track: 'canary' }, dropped: [] },
    { case: 'several opted-in keys, spaces around commas', keys: ' track , tier ,', tags: { [tag('track')]: 'canary', [tag('tier')]: 'front' }, labels: { track: 'canary', tier: 'front' }, dropped: [] },
    { case: 'an opted-in key with a prefix of no reserved domain', keys: 'example.com/shard', tags: { [tag('example.com/shard')]: '7' }, labels: { 'example.com/shard': '7' }, dropped: [] },
    { case: 'an empty value', keys: 'track', tags: { [tag('track')]: '' }, labels: { track: '' }, dropped: [] },
    { case: 'tags that are not label tags', keys: 'track', tags: { team: 'ratings', 'ecsmesh.io/workload-group': 'bookinfo/ratings' }, labels: {}, dropped: [] },
    { case: 'a key the group does not name', keys: 'track', tags: { [tag('tier')]: 'front' }, labels: {}, dropped: [{ key: 'tier', reason: 'TASK_LABEL_NOT_OPTED_IN' }] },
    { case: 'any key, when the group has no annotation', keys: undefined, tags: { [tag('track')]: 'canary' }, labels: {}, dropped: [{ key: 'track', reason: 'TASK_LABEL_NOT_OPTED_IN' }] },
    { case: 'a key that only prefixes a named one', keys: 'track', tags: { [tag('trac')]: 'x' }, labels: {}, dropped: [{ key: 'trac', reason: 'TASK_LABEL_NOT_OPTED_IN' }] },
    { case: 'a Service selector label the group leaves unset', keys: 'track', tags: { [tag('service')]: 'reviews' }, labels: {}, dropped: [{ key: 'service', reason: 'TASK_LABEL_NOT_OPTED_IN' }] },
    { case: "a label the group sets, even opted in (the group's value stays)", keys: 'app', tags: { [tag('app')]: 'reviews' }, labels: {}, dropped: [{ key: 'app', reason: 'TASK_LABEL_SET_BY_GROUP' }] },
    { case: 'security.istio.io/tlsMode, even opted in', keys: 'security.istio.io/tlsMode', tags: { [tag('security.istio.io/tlsMode')]: 'disabled' }, labels: {}, dropped: [{ key: 'security.istio.io/tlsMode', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'topology.istio.io/network', keys: 'topology.istio.io/network', tags: { [tag('topology.istio.io/network')]: 'other' }, labels: {}, dropped: [{ key: 'topology.istio.io/network', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'istio.io/rev', keys: 'istio.io/rev', tags: { [tag('istio.io/rev')]: 'canary' }, labels: {}, dropped: [{ key: 'istio.io/rev', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'istio.io/dataplane-mode', keys: '', tags: { [tag('istio.io/dataplane-mode')]: 'none' }, labels: {}, dropped: [{ key: 'istio.io/dataplane-mode', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'service.istio.io/canonical-name', keys: '', tags: { [tag('service.istio.io/canonical-name')]: 'reviews' }, labels: {}, dropped: [{ key: 'service.istio.io/canonical-name', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'networking.istio.io/tunnel', keys: '', tags: { [tag('networking.istio.io/tunnel')]: 'http' }, labels: {}, dropped: [{ key: 'networking.istio.io/tunnel', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'app.kubernetes.io/managed-by', keys: 'app.kubernetes.io/managed-by', tags: { [tag('app.kubernetes.io/managed-by')]: 'ecs-mesh-onboarding' }, labels: {}, dropped: [{ key: 'app.kubernetes.io/managed-by', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'node.k8s.io/x', keys: '', tags: { [tag('node.k8s.io/x')]: 'y' }, labels: {}, dropped: [{ key: 'node.k8s.io/x', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'kuma.io/service', keys: 'kuma.io/service', tags: { [tag('kuma.io/service')]: 'reviews' }, labels: {}, dropped: [{ key: 'kuma.io/service', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'our own ecsmesh.io/task-id', keys: 'ecsmesh.io/task-id', tags: { [tag('ecsmesh.io/task-id')]: 'other' }, labels: {}, dropped: [{ key: 'ecsmesh.io/task-id', reason: 'TASK_LABEL_RESERVED_PREFIX' }] },
    { case: 'a key that is no label key', keys: 'track-', tags: { [tag('track-')]: 'x' }, labels: {}, dropped: [{ key: 'track-', reason: 'TASK_LABEL_INVALID' }] },
    { case: 'a value that is no label value', keys: 'track', tags: { [tag('track')]: 'can ary' }, labels: {}, dropped: [{ key: 'track', reason: 'TASK_LABEL_INVALID' }] },
    { case: 'a key found on every object\'s prototype', keys: 'track', tags: { [tag('constructor')]: 'x' }, labels: {}, dropped: [{ key: 'constructor', reason: 'TASK_LABEL_NOT_OPTED_IN' }] },
    { case: 'several drops, ordered by key', keys: 'track', tags: { [tag('zone')]: 'a', [tag('istio.io/rev')]: 'b', [tag('app')]: 'c' }, labels: {}, dropped: [{ key: 'app', reason: 'TASK_LABEL_SET_BY_GROUP' }, { key: 'istio.io/rev', reason: 'TASK_LABEL_RESERVED_PREFIX' }, { key: 'zone', reason: 'TASK_LABEL_NOT_OPTED_IN' }] },
  ] as { case: string; keys: string | undefined; tags: Record<string, string>; labels: Record<string, string>; dropped: DroppedLabel[] }[])('decides $case', ({ keys, tags, labels, dropped }) => {
    const decided = entryLabels(groupOptingIn(keys), tags);

    expect(decided).toEqual({ labels: { ...labels, app: 'ratings', version: 'v1' }, dropped });
  });

  it('reads the opt-in from the group\'s own metadata, not spec.metadata, which istiod copies onto entries', () => {
    const group = aGroup();
    group.spec.metadata = { ...group.spec.metadata, annotations: { 'ecsmesh.io/task-label-keys': 'track' } };

    expect(entryLabels(group, { [tag('track')]: 'canary' }).dropped).toEqual([{ key: 'track', reason: 'TASK_LABEL_NOT_OPTED_IN' }]);
  });

  it('keeps the labels a group sets itself on a reserved key', () => {
    const group = aGroup({ entryLabels: { app: 'ratings', 'istio.io/rev': 'stable' } });

    expect(entryLabels(group, { [tag('istio.io/rev')]: 'canary' })).toEqual({ labels: { app: 'ratings', 'istio.io/rev': 'stable' }, dropped: [{ key: 'istio.io/rev', reason: 'TASK_LABEL_RESERVED_PREFIX' }] });
  });
});

describe('isReservedLabelKey', () => {
  it.each(['istio.io/rev', 'security.istio.io/tlsMode', 'kubernetes.io/hostname', 'node.kubernetes.io/instance-type', 'k8s.io/x', 'kuma.io/zone', 'ecsmesh.io/task-id', 'a.b.ecsmesh.io/x'])('reserves %s', (key) => {
    expect(isReservedLabelKey(key)).toBe(true);
  });

  it.each(['app', 'version', 'example.com/istio.io', 'notistio.io/rev', 'istio.io.example.com/x', 'kuma.iox/y'])('leaves %s to the group to opt in', (key) => {
    expect(isReservedLabelKey(key)).toBe(false);
  });
});
