import type { EnrollmentStore, MeshApi, PolicyStore, RoleDirectory, TaskDirectory } from '../ports.js';
import type { Log } from './log.js';

// One name, one type: what makes sure a service's data-plane token exists and is fresh.
export type { ServiceTokenEnsurer } from './ensure-service-token.js';
import type { ServiceTokenEnsurer } from './ensure-service-token.js';

/**
 * What deciding needs from the mesh: only a WorkloadGroup's labels. Explain, the auth exchange and
 * token maintenance hold no more, so the mesh's RBAC can give them read access to groups alone
 * (deploy/kubernetes/rbac.yaml).
 */
export type DecisionDeps = Pick<EnrollmentDeps, 'tasks' | 'roles' | 'policies'> & { mesh: Pick<MeshApi, 'getWorkloadGroup'> };

/** Everything the enrollment use cases need, built once per Lambda container. */
export interface EnrollmentDeps {
  tasks: TaskDirectory;
  roles: RoleDirectory;
  policies: PolicyStore;
  enrollments: EnrollmentStore;
  mesh: MeshApi;
  log: Log;
  tombstoneTtlSeconds: number;
  /** This deployment's ecsmesh.io/deployment label value, on every entry it writes. */
  deployment: string;
  /** A fresh ensurer per batch, so the tasks of one service in a batch share one read and mint. */
  serviceTokens?: () => ServiceTokenEnsurer;
}

/** What one batch's steps share: the deps plus that batch's token ensurer. */
export type StepDeps = EnrollmentDeps & { ensureToken?: ServiceTokenEnsurer };
