/**
 * Kubernetes RBAC as the API server applies it to the requests the double serves: the verb of a
 * request, and whether a ClusterRole's rules allow it. Kubernetes authorizes a server-side apply
 * as `patch`, and also as `create` when the apply creates the object.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** One rule of a ClusterRole (resource rules only; the control plane needs no others). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The ClusterRoles of a manifest file, by name. */
export function clusterRolesIn(file: string): Map<string, PolicyRule[]> {
  const roles = new Map<string, PolicyRule[]>();
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const object = doc.toJS() as { kind?: string; metadata?: { name?: string }; rules?: PolicyRule[] } | null;
    if (object?.kind === 'ClusterRole' && object.metadata?.name) roles.set(object.metadata.name, object.rules ?? []);
  }
  return roles;
}

/** The verbs a request is authorized as (`creates`: an apply of an object that does not exist yet). */
export function requestVerbs(method: string, isCollection: boolean, query: URLSearchParams, creates: boolean): string[] {
  switch (method) {
    case 'GET':
      return [isCollection ? (query.get('watch') === 'true' ? 'watch' : 'list') : 'get'];
    case 'POST':
      return ['create'];
    case 'PUT':
      return ['update'];
    case 'PATCH':
      return creates ? ['patch', 'create'] : ['patch'];
    case 'DELETE':
      return [isCollection ? 'deletecollection' : 'delete'];
    default:
      return [method.toLowerCase()];
  }
}

/** Whether `rules` grant `verb` on `resource` of `apiGroup` (with RBAC's `*` wildcards). */
export function allows(rules: PolicyRule[], apiGroup: string, resource: string, verb: string): boolean {
  const has = (list: string[], value: string) => list.includes('*') || list.includes(value);
  return rules.some((r) => has(r.apiGroups, apiGroup) && has(r.resources, resource) && has(r.verbs, verb));
}
