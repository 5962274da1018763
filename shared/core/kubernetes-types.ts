/** Shapes of the Kubernetes objects we read and write (networking.istio.io/v1). */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  /** Set by the API server; the reconciler's grace period reads it. */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface WorkloadEntrySpec {
  address?: string;
  labels?: Record<string, string>;
  locality?: string;
  network?: string;
  ports?: Record<string, number>;
  serviceAccount?: string;
  weight?: number;
}

export interface WorkloadEntry {
  apiVersion: 'networking.istio.io/v1';
  kind: 'WorkloadEntry';
  metadata: ObjectMeta;
  spec: WorkloadEntrySpec;
  /**
   * Read only, never sent: the metadata keys the mesh records as our field manager's (server-side
   * apply's `managedFields`). Absent when the mesh keeps no such record (the file mesh): then
   * every key is ours.
   */
  ownedKeys?: OwnedMetadataKeys;
}

/** Label and annotation keys one field manager owns on an object. */
export interface OwnedMetadataKeys {
  labels: readonly string[];
  annotations: readonly string[];
}

export interface WorkloadGroup {
  apiVersion: string;
  kind: 'WorkloadGroup';
  metadata: ObjectMeta;
  spec: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    template?: WorkloadEntrySpec;
    /** A readiness probe the sidecar runs and reports to istiod (its shape is the CRD's). */
    probe?: Record<string, unknown>;
  };
}

/** Where an object lives in the mesh API. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/** Optimistic-concurrency guard for a delete (Kubernetes `DeleteOptions.preconditions`). */
export interface DeletePreconditions {
  uid: string;
  resourceVersion?: string;
}

export const WORKLOAD_ENTRY_API_VERSION = 'networking.istio.io/v1';
