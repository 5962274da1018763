import { describe, expect, it } from 'vitest';
import { profileFor, serviceTokenClaims, type ServiceTokenClaimsInput } from '../../shared/core/token-claims.js';
import { onboardingTokenClaims } from '../../shared/core/onboarding-token.js';
import { needsRefresh, parseServiceTokenDocument, serviceTokenDocument } from '../../shared/core/service-token.js';
import { TOKEN_PROFILE_ANNOTATION, type ServiceTokenDocument } from '../../shared/core/tokens.js';
import type { WorkloadGroup } from '../../shared/core/kubernetes-types.js';
import { aGroup } from '../fixtures/builders.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;

const annotated = (value: string | undefined, group: WorkloadGroup = aGroup()): WorkloadGroup =>
  value === undefined ? group : { ...group, metadata: { ...group.metadata, annotations: { [TOKEN_PROFILE_ANNOTATION]: value } } };

const input = (overrides: Partial<ServiceTokenClaimsInput> = {}): ServiceTokenClaimsInput => ({
  profile: 'istio',
  group: aGroup(),
  issuer: 'https://mesh.example.com',
  audiences: ['istio-ca', 'extra'],
  mesh: 'prod-mesh',
  now: NOW,
  lifetimeSeconds: 86_400,
  jti: 'token-id-1',
  ...overrides,
});

describe('serviceTokenClaims', () => {
  it.each([
    {
      $case: 'istio: Kubernetes-style subject from the template service account',
      given: input(),
      expected: {
        iss: 'https://mesh.example.com',
        sub: 'system:serviceaccount:bookinfo:bookinfo-ratings',
        aud: ['istio-ca', 'extra'],
        iat: NOW_S,
        nbf: NOW_S,
        exp: NOW_S + 86_400,
        jti: 'token-id-1',
        'ecsmesh.io/workload-group': 'bookinfo/ratings',
        'ecsmesh.io/mesh': 'prod-mesh',
      },
    },
    {
      $case: 'istio: service account defaults to `default`',
      given: input({ group: aGroup({ template: { network: 'vpc-1' } }), lifetimeSeconds: 3600 }),
      expected: expect.objectContaining({ sub: 'system:serviceaccount:bookinfo:default', exp: NOW_S + 3600 }),
    },
    {
      $case: 'kuma: service-wide Dataplane claims (empty Name, service tag)',
      given: input({ profile: 'kuma', group: aGroup({ name: 'reviews', namespace: 'shop' }) }),
      expected: {
        iss: 'https://mesh.example.com',
        Name: '',
        Mesh: 'prod-mesh',
        Tags: { 'kuma.io/service': ['reviews'] },
        Type: 'dataplane',
        iat: NOW_S,
        nbf: NOW_S,
        exp: NOW_S + 86_400,
        jti: 'token-id-1',
      },
    },
  ])('$case', ({ given, expected }) => {
    expect(serviceTokenClaims(given)).toEqual(expected);
  });

  it.each([
    { $case: 'the entries\' labels (spec.metadata.labels)', group: aGroup({ entryLabels: { app: 'reviews', 'kuma.io/workload': 'reviews-v2' } }), expected: { Workload: 'reviews-v2' } },
    { $case: 'the template labels', group: aGroup({ entryLabels: {}, template: { labels: { 'kuma.io/workload': 'reviews' } } }), expected: { Workload: 'reviews' } },
    { $case: 'both, the entries\' labels winning as on the entries', group: aGroup({ entryLabels: { 'kuma.io/workload': 'a' }, template: { labels: { 'kuma.io/workload': 'b' } } }), expected: { Workload: 'a' } },
  ])('kuma: binds the token to the workload the group labels its data planes with, from $case', ({ group, expected }) => {
    expect(serviceTokenClaims(input({ profile: 'kuma', group }))).toMatchObject(expected);
    expect(onboardingTokenClaims({ ...input({ profile: 'kuma', group }), taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/abc', entryName: 'ratings-abc' })).toMatchObject({ ...expected, Name: 'ratings-abc' });
  });

  it('kuma: sets no Workload when the group gives none, since Kuma then refuses data planes without the label', () => {
    expect(serviceTokenClaims(input({ profile: 'kuma' }))).not.toHaveProperty('Workload');
    expect(serviceTokenClaims(input({ group: aGroup({ entryLabels: { 'kuma.io/workload': 'x' } }) }))).not.toHaveProperty('Workload');
  });

  it('floors a sub-second clock to whole seconds', () => {
    const claims = serviceTokenClaims(input({ now: new Date(NOW.getTime() + 999) }));
    expect(claims).toMatchObject({ iat: NOW_S, exp: NOW_S + 86_400 });
  });

  it('copies the audiences, so the config array is never shared', () => {
    const audiences = ['istio-ca'];
    const claims = serviceTokenClaims(input({ audiences }));
    expect('aud' in claims && claims.aud).not.toBe(audiences);
  });
});

describe('profileFor', () => {
  it.each([
    { $case: 'no annotation: the deployment default', annotation: undefined, fallback: 'istio' as const, expected: { profile: 'istio' } },
    { $case: 'a known annotation wins', annotation: 'kuma', fallback: 'istio' as const, expected: { profile: 'kuma' } },
    { $case: 'the annotation may also name the default', annotation: 'istio', fallback: 'kuma' as const, expected: { profile: 'istio' } },
    { $case: 'an unknown value: the default, and the value to log', annotation: 'consul', fallback: 'kuma' as const, expected: { profile: 'kuma', ignoredAnnotation: 'consul' } },
    { $case: 'profiles are case-sensitive', annotation: 'Kuma', fallback: 'istio' as const, expected: { profile: 'istio', ignoredAnnotation: 'Kuma' } },
  ])('$case', ({ annotation, fallback, expected }) => {
    expect(profileFor(annotated(annotation), fallback)).toEqual(expected);
  });
});

const doc = (issuedAt: string, expiresAt: string): ServiceTokenDocument => ({ token: 'a.b.c', issuedAt, expiresAt, kid: 'k1', profile: 'istio', workloadGroup: 'bookinfo/ratings' });
const at = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000).toISOString();

describe('needsRefresh', () => {
  // A 24 h token issued at NOW: due once less than 8 h are left, i.e. from NOW + 16 h.
  it.each([
    { $case: 'no document', document: undefined, now: NOW, expected: true },
    { $case: 'just issued', document: doc(at(0), at(24)), now: NOW, expected: false },
    { $case: 'two thirds of its life used, to the second', document: doc(at(0), at(24)), now: new Date(at(16)), expected: false },
    { $case: 'less than a third left', document: doc(at(0), at(24)), now: new Date(Date.parse(at(16)) + 1000), expected: true },
    { $case: 'expired', document: doc(at(0), at(24)), now: new Date(at(25)), expected: true },
    { $case: 'expiring this instant', document: doc(at(0), at(24)), now: new Date(at(24)), expected: true },
    { $case: 'issued in the future (clock skew) but far from expiry', document: doc(at(1), at(25)), now: NOW, expected: false },
    { $case: 'expiry before issue', document: doc(at(2), at(1)), now: NOW, expected: true },
    { $case: 'unparseable times', document: doc('yesterday', 'tomorrow'), now: NOW, expected: true },
  ])('$case → $expected', ({ document, now, expected }) => {
    expect(needsRefresh(document, now)).toBe(expected);
  });
});

describe('parseServiceTokenDocument', () => {
  const group = { namespace: 'bookinfo', name: 'ratings' };
  const valid = doc(at(0), at(24));

  it.each([
    { $case: 'a valid document', text: JSON.stringify(valid), expected: valid },
    { $case: 'missing secret string', text: undefined, expected: undefined },
    { $case: 'not JSON', text: 'eyJhbGciOi...', expected: undefined },
    { $case: 'a field missing', text: JSON.stringify({ ...valid, kid: undefined }), expected: undefined },
    { $case: 'an unknown field', text: JSON.stringify({ ...valid, extra: 1 }), expected: undefined },
    { $case: 'an unknown profile', text: JSON.stringify({ ...valid, profile: 'consul' }), expected: undefined },
    { $case: 'a date that is not ISO', text: JSON.stringify({ ...valid, expiresAt: 'tomorrow' }), expected: undefined },
    { $case: "another group's document", text: JSON.stringify({ ...valid, workloadGroup: 'bookinfo/reviews' }), expected: undefined },
  ])('$case', ({ text, expected }) => {
    expect(parseServiceTokenDocument(text, group)).toEqual(expected);
  });

  it('reads back what serviceTokenDocument builds', () => {
    const built = serviceTokenDocument({ token: 'x.y.z', kid: 'k2', alg: 'RS256' }, { iat: NOW_S, exp: NOW_S + 60 }, 'kuma', group);
    expect(built).toEqual({ token: 'x.y.z', kid: 'k2', profile: 'kuma', workloadGroup: 'bookinfo/ratings', issuedAt: NOW.toISOString(), expiresAt: at(1 / 60) });
    expect(parseServiceTokenDocument(JSON.stringify(built), group)).toEqual(built);
  });
});
