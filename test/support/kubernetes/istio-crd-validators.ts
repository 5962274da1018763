/** Validators built straight from the Istio CRD YAML in vendor/istio-crds/ (not the JSON copy). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createCrdValidator } from '../../../shared/core/crd-schema-compiler.js';
import type { CrdValidator } from '../../../shared/core/crd-validation.js';

/** Where the reference CRDs live: the vendored copy, `vendor/istio-crds` in the repository. */
export const ISTIO_CRD_DIR = fileURLToPath(new URL('../../../vendor/istio-crds/', import.meta.url));

/** The resources the double serves, by URL plural. */
export const ISTIO_RESOURCES = {
  workloadentries: { kind: 'WorkloadEntry', listKind: 'WorkloadEntryList' },
  workloadgroups: { kind: 'WorkloadGroup', listKind: 'WorkloadGroupList' },
  sidecars: { kind: 'Sidecar', listKind: 'SidecarList' },
} as const;

/** A plural the double serves. */
export type IstioPlural = keyof typeof ISTIO_RESOURCES;

/** `openAPIV3Schema` of the served storage version `v1`, by kind, read from the YAML files. */
export function readIstioCrdSchemas(dir = ISTIO_CRD_DIR): Record<string, object> {
  const schemas: Record<string, object> = {};
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(`${dir}/${file}`, 'utf8'))) {
      const crd = doc.toJS() as CrdDocument | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const version = crd.spec.versions.find((v) => v.name === 'v1' && v.served && v.storage);
      if (version) schemas[crd.spec.names.kind] = version.schema.openAPIV3Schema;
    }
  }
  return schemas;
}

/** One validator per served plural. */
export function createIstioValidators(dir = ISTIO_CRD_DIR): Record<IstioPlural, CrdValidator> {
  const schemas = readIstioCrdSchemas(dir);
  const build = (plural: IstioPlural): CrdValidator => {
    const { kind } = ISTIO_RESOURCES[plural];
    const schema = schemas[kind];
    if (!schema) throw new Error(`no v1 CRD for ${kind} in ${dir}`);
    return createCrdValidator(schema, { apiVersion: 'networking.istio.io/v1', kind });
  };
  return { workloadentries: build('workloadentries'), workloadgroups: build('workloadgroups'), sidecars: build('sidecars') };
}

interface CrdDocument {
  kind: string;
  spec: {
    names: { kind: string };
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: object } }[];
  };
}
