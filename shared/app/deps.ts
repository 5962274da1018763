import type { MeshNetworks } from '../core/networks.js';
import type { AddressClaims, EnrollmentStore, Log, MeshApi, PolicyStore, RoleDirectory, SubnetDirectory, TaskDirectory, WorkloadGroupReader } from '../ports.js';

// One name, one type: what makes sure a service's data-plane token exists and is fresh.
export type { ServiceTokenEnsurer } from './ensure-service-token.js';
import type { ServiceTokenEnsurer } from './ensure-service-token.js';

/**
 * What deciding needs from the mesh: only a WorkloadGroup's labels. Explain, the auth exchange and
 * token maintenance hold no more, so the mesh's RBAC can give them read access to groups alone
 * (deploy/kubernetes/rbac.yaml).
 */
export type DecisionDeps = Pick<EnrollmentDeps, 'tasks' | 'roles' | 'policies'> & { mesh: WorkloadGroupReader } & NetworkDeps;

/**
 * Where a task's address lives and who holds it (docs/architecture.md#networks). Deciding only
 * reads the claims; task-events and the reconciler claim before they apply (AddressClaims), and
 * task-events, whose claim answers the same, decides without them. Without `addresses` no clash
 * is looked for.
 */
export interface NetworkDeps {
  /** meshNetworks; none: every task is on its group template's network. */
  networks?: MeshNetworks;
  /** Read only when `networks` maps a VPC. */
  subnets?: SubnetDirectory;
  addresses?: Pick<AddressClaims, 'heldByAnother'>;
}

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
  networks?: MeshNetworks;
  subnets?: SubnetDirectory;
  /** Claimed before an entry is applied, released when the task drains. */
  addresses?: AddressClaims;
}

/** What one batch's steps share: the deps plus that batch's token ensurer. */
export type StepDeps = EnrollmentDeps & { ensureToken?: ServiceTokenEnsurer };
