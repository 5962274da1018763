/**
 * Compiles a CRD's structural schema with ajv at runtime: createCrdValidator for any schema (tests,
 * the Kubernetes API double), and the one ajv setup the generated Istio validators are made with
 * (scripts/generate-crd-validators.ts), so both judge alike. Not imported by any Lambda.
 */
import { Ajv, type Options } from 'ajv';
import { CRD_FORMATS } from './crd-formats.js';
import { crdValidator, type CrdIdentity, type CrdValidator, type StructuralValidator } from './crd-validator.js';

/** The ajv instance CRD schemas are compiled with; `code` for standalone generation. */
export function crdAjv(code?: Options['code']): Ajv {
  // strict: false lets ajv ignore the x-kubernetes-* extensions, which crd-validation.ts evaluates itself.
  const ajv = new Ajv({ strict: false, allErrors: true, ...(code ? { code } : {}) });
  for (const [name, format] of Object.entries(CRD_FORMATS)) ajv.addFormat(name, format);
  return ajv;
}

/** Builds a validator from a CRD version's `openAPIV3Schema`, compiling its structure now. */
export function createCrdValidator(openApiV3Schema: object, identity?: CrdIdentity): CrdValidator {
  return crdValidator(openApiV3Schema, crdAjv().compile(openApiV3Schema) as StructuralValidator, identity);
}
