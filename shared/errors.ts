/**
 * Infrastructure failures. Adapters translate SDK and HTTP errors into these so the
 * core never sees SDK types. Expected outcomes (a denied task, a stale event) are data,
 * not exceptions: see shared/core/reasons.ts.
 */
export class ControlPlaneError extends Error {
  /** Stable code: survives logs, HTTP answers and stored records where `instanceof` does not. */
  readonly code: string;
  /** Whether retrying the same input later may succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = 'ControlPlaneError';
    this.code = code;
    this.retryable = options?.retryable ?? true;
  }
}

/** The mesh's API server failed or was unreachable (5xx, timeout, connection refused). */
export class MeshApiError extends ControlPlaneError {
  readonly status: number | undefined;
  constructor(message: string, options?: ErrorOptions & { status?: number; retryable?: boolean }) {
    super('MESH_API_ERROR', message, options);
    this.name = 'MeshApiError';
    this.status = options?.status;
  }
}

/** The mesh refused an object as invalid (HTTP 422 / schema): retrying will not help. */
export class MeshValidationError extends ControlPlaneError {
  readonly problems: string[];
  constructor(message: string, problems: string[], options?: ErrorOptions) {
    super('MESH_OBJECT_INVALID', message, { ...options, retryable: false });
    this.name = 'MeshValidationError';
    this.problems = problems;
  }
}

/** A delete precondition (uid / resourceVersion) did not hold: the object changed under us. */
export class MeshPreconditionError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('MESH_PRECONDITION_FAILED', message, options);
    this.name = 'MeshPreconditionError';
  }
}

/** One field an apply would change that another field manager owns (a 409 FieldManagerConflict cause). */
export interface FieldConflict {
  manager: string;
  /** As the API server spells it: `.metadata.annotations.istio.io/connectedAt`. */
  field: string;
}

/**
 * A server-side apply refused because istiod owns a field it would change: we do not take
 * istiod's fields (docs/enrollment.md#which-part-of-an-entry-is-ours). Not retryable: the same apply
 * conflicts again until what we send stops naming istiod's field.
 */
export class MeshFieldConflictError extends ControlPlaneError {
  readonly conflicts: FieldConflict[];
  constructor(message: string, conflicts: FieldConflict[], options?: ErrorOptions) {
    super('MESH_FIELD_CONFLICT', message, { ...options, retryable: false });
    this.name = 'MeshFieldConflictError';
    this.conflicts = conflicts;
  }
}

/** A conditional write lost against a newer version of the same record. */
export class VersionConflictError extends ControlPlaneError {
  /** The record that won, as the store returned it with the refusal (no second read); absent if it did not. */
  readonly stored: unknown;
  constructor(message: string, options?: ErrorOptions & { stored?: unknown }) {
    super('VERSION_CONFLICT', message, options);
    this.name = 'VersionConflictError';
    this.stored = options?.stored;
  }
}

/** A policy write lost: the stored revision is not the one the caller read (HTTP 412). */
export class PolicyConflictError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('POLICY_CONFLICT', message, { ...options, retryable: false });
    this.name = 'PolicyConflictError';
  }
}

/** An AWS API, or the mesh's API server (429), throttled us; the record is retried later. */
export class UpstreamThrottledError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('UPSTREAM_THROTTLED', message, options);
    this.name = 'UpstreamThrottledError';
  }
}

/** Configuration is missing or inconsistent; names the variable. Raised at cold start. */
export class ConfigError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, { ...options, retryable: false });
    this.name = 'ConfigError';
  }
}

/** STS refused the signed request (bad signature, expired or unknown credentials). */
export class StsRejectedError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('STS_REJECTED', message, { ...options, retryable: false });
    this.name = 'StsRejectedError';
  }
}

/** STS failed, timed out or answered something unreadable. */
export class StsUnavailableError extends ControlPlaneError {
  constructor(message: string, options?: ErrorOptions) {
    super('STS_UNAVAILABLE', message, options);
    this.name = 'StsUnavailableError';
  }
}
