/**
 * The OnboardingPolicy schema as a whole: every object in it refuses unknown fields, and every
 * string it takes is bounded, so nothing a caller sends is stored unchecked.
 */
import { describe, expect, it } from 'vitest';
import { validatePolicyDocument } from '../../shared/core/policy-validation.js';
import { OnboardingPolicySchema } from '../../shared/core/schemas.js';
import { ACCOUNT, aPolicy } from '../fixtures/builders.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- documents are broken on purpose

/** A valid document that uses every field the schema has. */
function fullPolicy(): Doc {
  const doc: Doc = structuredClone(aPolicy());
  doc.metadata.labels = { team: 'ratings' };
  doc.metadata.annotations = { 'example.com/owner': 'ratings team' };
  doc.spec.allow[0].workloads[0].aws = {
    partitions: ['aws'],
    accounts: [ACCOUNT],
    regions: ['us-east-1'],
    zones: ['us-east-1a'],
    ecs: { clusters: ['prod'], iamRoleNames: ['ratings-task'], iamRoleTags: { team: ['ratings'] } },
  };
  doc.spec.allow[0].workloads[1] = { aws: { accounts: [ACCOUNT], ec2: { iamRoleNames: ['ratings-instance'] } } };
  doc.spec.allow[0].onboardTo[0].workloadGroupSelector = { matchLabels: { app: 'ratings' }, matchExpressions: [{ key: 'version', operator: 'In', values: ['v1'] }] };
  return doc;
}

const LONG = 'a'.repeat(5_000);
const W = '/spec/allow/0/workloads/0/aws';
const S = '/spec/allow/0/onboardTo/0/workloadGroupSelector';

describe('OnboardingPolicySchema', () => {
  it('accepts the document that uses every field', () => {
    expect(validatePolicyDocument(fullPolicy())).toMatchObject({ ok: true });
  });

  it.each([
    { field: 'metadata.name', at: '/metadata/name', set: (d: Doc) => (d.metadata.name = LONG) },
    { field: 'metadata.namespace', at: '/metadata/namespace', set: (d: Doc) => (d.metadata.namespace = LONG) },
    { field: 'a metadata.labels value', at: '/metadata/labels/team', set: (d: Doc) => (d.metadata.labels.team = LONG) },
    { field: 'a metadata.labels key', at: `/metadata/labels/${LONG}`, set: (d: Doc) => (d.metadata.labels = { [LONG]: 'x' }) },
    { field: 'an annotation value', at: '/metadata/annotations/example.com~1owner', set: (d: Doc) => (d.metadata.annotations['example.com/owner'] = LONG) },
    { field: 'an annotation key', at: `/metadata/annotations/${LONG}`, set: (d: Doc) => (d.metadata.annotations = { [LONG]: 'x' }) },
    { field: 'an account', at: `${W}/accounts/0`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.accounts = [LONG]) },
    { field: 'a region', at: `${W}/regions/0`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.regions = [`us-${LONG}`]) },
    { field: 'a zone', at: `${W}/zones/0`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.zones = [`us-${LONG}`]) },
    { field: 'a cluster', at: `${W}/ecs/clusters/0`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.ecs.clusters = [LONG]) },
    { field: 'an ECS role name', at: `${W}/ecs/iamRoleNames/0`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.ecs.iamRoleNames = [LONG]) },
    { field: 'a role tag value', at: `${W}/ecs/iamRoleTags/team/0`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.ecs.iamRoleTags.team = [LONG]) },
    { field: 'a role tag key', at: `${W}/ecs/iamRoleTags/${LONG}`, set: (d: Doc) => (d.spec.allow[0].workloads[0].aws.ecs.iamRoleTags = { [LONG]: [] }) },
    { field: 'an EC2 role name', at: '/spec/allow/0/workloads/1/aws/ec2/iamRoleNames/0', set: (d: Doc) => (d.spec.allow[0].workloads[1].aws.ec2.iamRoleNames = [LONG]) },
    { field: 'a matchLabels value', at: `${S}/matchLabels/app`, set: (d: Doc) => (d.spec.allow[0].onboardTo[0].workloadGroupSelector.matchLabels.app = LONG) },
    { field: 'a matchLabels key', at: `${S}/matchLabels/${LONG}`, set: (d: Doc) => (d.spec.allow[0].onboardTo[0].workloadGroupSelector.matchLabels = { [LONG]: 'x' }) },
    { field: 'a matchExpressions key', at: `${S}/matchExpressions/0/key`, set: (d: Doc) => (d.spec.allow[0].onboardTo[0].workloadGroupSelector.matchExpressions[0].key = LONG) },
    { field: 'a matchExpressions value', at: `${S}/matchExpressions/0/values/0`, set: (d: Doc) => (d.spec.allow[0].onboardTo[0].workloadGroupSelector.matchExpressions[0].values = [LONG]) },
  ])('refuses a 5,000-character string as $field', ({ at, set }) => {
    const doc = fullPolicy();
    set(doc);

    const result = validatePolicyDocument(doc);

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map((p) => p.pointer)).toContain(at);
  });

  it('refuses unknown fields in every object it has', () => {
    const loose: string[] = [];
    walkObjects(OnboardingPolicySchema, '', (path, catchall) => {
      if (catchall !== 'never') loose.push(path || '/');
    });

    expect(loose).toEqual([]);
  });
});

interface SchemaNode {
  _zod: { def: Record<string, unknown> & { type: string } };
}
const isSchema = (value: unknown): value is SchemaNode => typeof value === 'object' && value !== null && '_zod' in value;

/** Calls `visit` for every object schema below `schema`, with where it is and what its catchall is. */
function walkObjects(schema: unknown, path: string, visit: (path: string, catchall: string | undefined) => void): void {
  if (!isSchema(schema)) return;
  const { def } = schema._zod;
  if (def.type === 'object') {
    visit(path, isSchema(def.catchall) ? def.catchall._zod.def.type : undefined);
    for (const [key, field] of Object.entries(def.shape as Record<string, unknown>)) walkObjects(field, `${path}/${key}`, visit);
    return;
  }
  for (const [key, value] of Object.entries(def)) {
    if (Array.isArray(value)) value.forEach((option) => walkObjects(option, path, visit));
    else walkObjects(value, key === 'element' ? `${path}/*` : path, visit);
  }
}
