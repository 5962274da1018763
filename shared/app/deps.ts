import type { EnrollmentStore, MeshApi, PolicyStore, RoleDirectory, TaskDirectory } from '../ports.js';
import type { Log } from './log.js';

/** Everything the enrollment use cases need, built once per Lambda container. */
export interface EnrollmentDeps {
  tasks: TaskDirectory;
  roles: RoleDirectory;
  policies: PolicyStore;
  enrollments: EnrollmentStore;
  mesh: MeshApi;
  log: Log;
  tombstoneTtlSeconds: number;
}
