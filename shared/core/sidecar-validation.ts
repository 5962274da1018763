/**
 * The Sidecar validator the Kubernetes mesh adapter loads at the names function's first apply. A
 * module of its own for the reason workload-entry-validation.ts is: esbuild keeps every export of a
 * module imported dynamically, and crd-validation.ts also re-exports ajv's compiler.
 */
export { validateSidecar } from './crd-validation.js';
