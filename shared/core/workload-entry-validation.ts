/**
 * The one validator the Kubernetes mesh adapter loads, at its first write. A module of its own
 * because esbuild keeps every export of a module imported dynamically: through this one the bundle
 * keeps only the WorkloadEntry validator, not the WorkloadGroup one.
 */
export { validateWorkloadEntry } from './crd-validation.js';
