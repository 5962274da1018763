// Types of istio-crd-structure.generated.js (scripts/generate-crd-validators.ts): one ajv validate function per kind.
import type { StructuralValidator } from './crd-validator.js';

export declare const WorkloadEntry: StructuralValidator;
export declare const WorkloadGroup: StructuralValidator;
export declare const Sidecar: StructuralValidator;
