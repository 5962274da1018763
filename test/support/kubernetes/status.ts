/** `Status` objects as the Kubernetes API server writes them for failures. */

/** The fields of a Kubernetes `meta/v1` Status we produce. */
export interface KubernetesStatus {
  kind: 'Status';
  apiVersion: 'v1';
  /** Empty but for a 410 Expired list, which carries a continue token. */
  metadata: { continue?: string };
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: { reason: string; message: string; field?: string }[] };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A Failure Status with the reason Kubernetes uses for `code` unless one is given. */
export function failureStatus(code: number, message: string, extra: { reason?: string; details?: KubernetesStatus['details'] } = {}): KubernetesStatus {
  const status: KubernetesStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: extra.reason ?? REASONS[code] ?? 'Unknown',
    code,
  };
  if (extra.details) status.details = extra.details;
  return status;
}

/** 404 for a named object of a resource (`workloadentries.networking.istio.io "x" not found`). */
export function notFoundStatus(plural: string, name: string): KubernetesStatus {
  return failureStatus(404, `${plural}.networking.istio.io "${name}" not found`, { details: { name, group: 'networking.istio.io', kind: plural } });
}

/** 409 AlreadyExists on create. */
export function alreadyExistsStatus(plural: string, name: string): KubernetesStatus {
  return failureStatus(409, `${plural}.networking.istio.io "${name}" already exists`, {
    reason: 'AlreadyExists',
    details: { name, group: 'networking.istio.io', kind: plural },
  });
}

/** 409 Conflict: a stale resourceVersion, a failed precondition or an apply conflict. */
export function conflictStatus(plural: string, name: string, why: string): KubernetesStatus {
  return failureStatus(409, `Operation cannot be fulfilled on ${plural}.networking.istio.io "${name}": ${why}`, {
    details: { name, group: 'networking.istio.io', kind: plural },
  });
}

/** 422 Invalid with one cause per validation problem (`field: message`). */
export function invalidStatus(kind: string, name: string, problems: string[]): KubernetesStatus {
  const causes = problems.map((problem) => {
    const colon = problem.indexOf(': ');
    return colon > 0
      ? { reason: 'FieldValueInvalid', field: problem.slice(0, colon), message: problem }
      : { reason: 'FieldValueInvalid', message: problem };
  });
  return failureStatus(422, `${kind}.networking.istio.io "${name}" is invalid: ${problems.join(', ')}`, {
    details: { name, group: 'networking.istio.io', kind, causes },
  });
}
