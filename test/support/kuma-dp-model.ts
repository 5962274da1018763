/**
 * Which token kuma-dp's Envoy presents when it opens a new xDS stream (a reconnect after a CP
 * restart, say), modelled on kumahq/kuma at 348b6528bc23 (the CP's check of that token is
 * third-party-verifier.ts's kumaVerdict):
 * - app/kuma-dp/cmd/context.go, defaultDataplaneTokenGenerator: an inline token
 *   (KUMA_DATAPLANE_RUNTIME_TOKEN or --dataplane-token; an ECS secret is such a variable) is written
 *   once, at start, to a file in the work dir, and that copy becomes the token path.
 * - app/kuma-dp/pkg/dataplane/envoy/remote_bootstrap.go, requestForBootstrap: the token is read
 *   once, at start, and sent with its path in the bootstrap request.
 * - pkg/xds/bootstrap/template_v3.go, genConfig and buildGrpcService: with the CP's
 *   `dpServer.authn.enableReloadableTokens` and a token path, ADS runs over google_grpc with the
 *   call credentials `envoy.grpc_credentials.file_based_metadata` on that path, which Envoy reads
 *   on every call (FileBasedMetadataAuthenticator::GetMetadata, envoyproxy/envoy
 *   source/extensions/grpc_credentials/file_based_metadata/config.cc); otherwise the token read at
 *   start is the ADS's `initial_metadata` `authorization`, for the life of the process.
 * - pkg/xds/auth/callbacks.go, onStreamRequest: the CP authenticates each new stream once, from its
 *   `authorization` metadata (ExtractCredential).
 */

/** The parts of an ECS container definition kuma-dp's configuration comes from. */
export interface KumaDpContainer {
  Environment?: { Name: string; Value: string }[];
  /** ECS resolves each at task start and hands it over as an environment variable. */
  Secrets?: { Name: string; ValueFrom: string }[];
}

/** A running kuma-dp: the credential its Envoy sends on the next xDS stream it opens. */
export interface KumaDp {
  credentialForNewStream(): string;
}

export interface KumaDpStart {
  container: KumaDpContainer;
  /** `dpServer.authn.enableReloadableTokens` of the CP that served the bootstrap (false unless set, on Universal). */
  enableReloadableTokens: boolean;
  /** The value ECS resolved for a secret's ValueFrom at task start. */
  resolveSecret: (valueFrom: string) => string;
  /** Reads a file of the task's shared volume now. */
  readFile: (path: string) => string;
}

/** Starts kuma-dp as its source does and answers what each later stream authenticates with. */
export function startKumaDp({ container, enableReloadableTokens, resolveSecret, readFile }: KumaDpStart): KumaDp {
  const env = new Map<string, string>((container.Environment ?? []).map((e) => [e.Name, e.Value]));
  for (const secret of container.Secrets ?? []) env.set(secret.Name, resolveSecret(secret.ValueFrom));
  const inline = env.get('KUMA_DATAPLANE_RUNTIME_TOKEN') ?? '';
  const path = env.get('KUMA_DATAPLANE_RUNTIME_TOKEN_PATH') ?? '';
  if (!inline && !path) throw new Error('kuma-dp has no data-plane token: set KUMA_DATAPLANE_RUNTIME_TOKEN_PATH');
  // The work-dir copy of an inline token is written once and never again.
  const workDirCopy = inline;
  const readToken = (): string => (inline ? workDirCopy : readFile(path));
  const atStart = readToken().trim();
  if (enableReloadableTokens) return { credentialForNewStream: readToken };
  return { credentialForNewStream: () => atStart };
}
