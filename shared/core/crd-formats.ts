/**
 * The formats Kubernetes' OpenAPI schemas use that ajv does not know, in ajv's format shape: shared
 * by the runtime compiler (crd-schema-compiler.ts) and the generated Istio validators.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export const CRD_FORMATS = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number', validate: (n: number) => Number.isSafeInteger(n) },
  'date-time': RFC3339,
} as const;
