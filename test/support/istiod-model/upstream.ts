/**
 * The istio/istio commit this model is ported from. Every `istio:` citation in this folder names a
 * file and function at this commit; read them with
 * `git show 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c:<file>` in a clone of istio/istio.
 */
export const ISTIO_COMMIT = '86c9f01fd735fb01d8192f5bcaf0d424afb7f14c';

/**
 * Annotation and condition names istiod reads and writes on a WorkloadEntry.
 * istio: istio.io/api annotation package (IoIstioWorkloadController, IoIstioConnectedAt,
 * IoIstioDisconnectedAt, IoIstioAutoRegistrationGroup) and pilot/pkg/model/status/workloadentry.go
 * (WorkloadEntryHealthCheckAnnotation, ConditionHealthy).
 */
export const ISTIOD_ANNOTATIONS = {
  workloadController: 'istio.io/workloadController',
  connectedAt: 'istio.io/connectedAt',
  disconnectedAt: 'istio.io/disconnectedAt',
  autoRegistrationGroup: 'istio.io/autoRegistrationGroup',
  healthChecksEnabled: 'proxy.istio.io/health-checks-enabled',
} as const;

/**
 * The field manager the API server records for istiod's writes. istio:
 * pilot/pkg/config/kube/crdclient/types.gen.go `update`/`updateStatus` send `metav1.UpdateOptions{}`,
 * no fieldManager, so the API server names the manager after the User-Agent (pkg/kube/util.go
 * `IstioUserAgent`: `pilot-discovery/<version>`): `pilot-discovery`, the name its patches send explicitly.
 */
export const ISTIOD_FIELD_MANAGER = 'pilot-discovery';

/** istio: pilot/pkg/model/status/workloadentry.go, ConditionHealthy. */
export const CONDITION_HEALTHY = 'Healthy';

/**
 * Defaults of the feature flags the ported code branches on. istio: pilot/pkg/features/pilot.go,
 * WorkloadEntryHealthChecks (PILOT_ENABLE_WORKLOAD_ENTRY_HEALTHCHECKS, true),
 * ValidateWorkloadEntryIdentity (ISTIO_WORKLOAD_ENTRY_VALIDATE_IDENTITY, true) and
 * WorkloadEntryCleanupGracePeriod (PILOT_WORKLOAD_ENTRY_GRACE_PERIOD, 10s).
 */
export const ISTIOD_FEATURE_DEFAULTS = {
  workloadEntryHealthChecks: true,
  validateWorkloadEntryIdentity: true,
  workloadEntryCleanupGracePeriodMs: 10_000,
} as const;
