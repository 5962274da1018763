/**
 * A task's istio-proxy as istiod sees it, started the way the example's task definition starts
 * it: its `istio-proxy` container's command runs under the real /bin/sh (so the shell is the
 * judge of the files our agent writes), with pilot-agent replaced by a recorder of the environment
 * and arguments it was started with. From those, the pilot-agent model (./pilot-agent.ts) derives
 * what the real one would send istiod (node metadata, the readiness probe), and the proxy's
 * identity is the one istiod's CA would certify from the token our agent wrote (istiod's own JWT
 * rules, test/support/verifiers/istiod_jwt_rule.py). It then connects to the WorkloadEntry
 * controller model, runs its probe and reports the results, as istio-agent does.
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Json } from '../cloudformation.js';
import { istiodVerdictAsync } from '../third-party-verifier.js';
import { nodeMetadataFromEnv, proxyConfigFrom, WorkloadHealthCheckerModel, type ModelNodeMetadata, type ModelProxyConfig } from './pilot-agent.js';
import type { ModelConnection, WorkloadEntryControllerModel } from './workload-entry-controller.js';

const run = promisify(execFile);

/** Where the example's task definition mounts the agent's volume in istio-proxy, and where its image keeps pilot-agent. */
const TOKENS_DIR = '/var/run/secrets/tokens';
const PILOT_AGENT = '/usr/local/bin/pilot-agent';

/** What pilot-agent was started with. */
export interface PilotAgentStart {
  env: Record<string, string>;
  args: string[];
}

/**
 * Runs the container's EntryPoint + Command under /bin/sh with the agent's volume at `volumeDir`
 * (instead of TOKENS_DIR) and a recorder instead of pilot-agent, in `workDir`; returns what
 * pilot-agent would have been started with. A failing command (a file missing, say) throws.
 */
export async function startIstioProxyCommand(container: Json, volumeDir: string, workDir: string): Promise<PilotAgentStart> {
  const recorder = join(workDir, 'pilot-agent-recorder.sh');
  const recorded = join(workDir, 'pilot-agent.started');
  writeFileSync(recorder, `#!/bin/sh\n{ env -0; printf '\\n--args--\\n'; printf '%s\\0' "$@"; } > '${recorded}'\n`);
  chmodSync(recorder, 0o755);
  const [shell, flag] = container.EntryPoint as [string, string];
  const [command] = container.Command as [string];
  // /tmp (the container's working directory) first: the paths put in next may lie under this machine's /tmp.
  const local = command.replaceAll('/tmp/', `${workDir}/`).replaceAll(PILOT_AGENT, recorder).replaceAll(TOKENS_DIR, volumeDir);
  const env = Object.fromEntries((container.Environment as { Name: string; Value: string }[]).map((e) => [e.Name, String(e.Value).replaceAll('/tmp/', `${workDir}/`)]));
  await run(shell, [flag, local], { cwd: workDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  const [envPart, argsPart] = readFileSync(recorded, 'utf8').split('\n--args--\n') as [string, string];
  const started = Object.fromEntries(
    envPart
      .split('\0')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const args = argsPart.split('\0').filter((a) => a !== '');
  // The paths pilot-agent would read, back in the container's terms.
  return { env: started, args: args.map((a) => a.replaceAll(volumeDir, TOKENS_DIR)) };
}

/** `--meshConfig`'s value (pilot-agent's default when absent: ./etc/istio/config/mesh). */
function meshConfigPath(args: string[]): string | undefined {
  const at = args.indexOf('--meshConfig');
  if (at >= 0) return args[at + 1];
  return args.find((a) => a.startsWith('--meshConfig='))?.slice('--meshConfig='.length);
}

/** SPIFFE identity → namespace and service account (spiffe://<trust domain>/ns/<ns>/sa/<sa>). */
function parseSpiffe(identity: string): { namespace: string; serviceAccount: string } {
  const match = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(identity);
  if (!match) throw new Error(`not a SPIFFE identity: ${identity}`);
  return { namespace: match[1]!, serviceAccount: match[2]! };
}

export interface TaskProxyOptions {
  /** What pilot-agent was started with (startIstioProxyCommand). */
  started: PilotAgentStart;
  /** The agent's volume on this machine (TOKENS_DIR in the container). */
  volumeDir: string;
  /** istiod's JWT_RULE: the identity is what its CA would certify for the token. */
  jwtRule: string;
  /** The task's private address (the proxy's IP, the probe's default host). */
  address: string;
  istiod: WorkloadEntryControllerModel;
}

/** The proxy of one task, connected to the istiod model and reporting its probe. */
export class TaskProxyModel {
  private readonly checker: WorkloadHealthCheckerModel | undefined;
  private connection: ModelConnection | undefined;
  private static connections = 0;

  /** pilot-agent's start: its metadata and ProxyConfig, and the certificate istiod's CA issues for its token. */
  static async start(options: TaskProxyOptions): Promise<TaskProxyModel> {
    const { started, volumeDir } = options;
    const meshFile = meshConfigPath(started.args);
    const metadata = nodeMetadataFromEnv(started.env);
    const proxyConfig = proxyConfigFrom(meshFile ? readFileSync(meshFile.replace(TOKENS_DIR, volumeDir), 'utf8') : undefined, started.env.PROXY_CONFIG);
    // istio-agent's third-party JWT (JWT_POLICY=third-party-jwt) is TOKENS_DIR/istio-token.
    const token = readFileSync(join(volumeDir, 'istio-token'), 'utf8');
    const verdict = await istiodVerdictAsync(options.jwtRule, token);
    if (!verdict.ok || !verdict.identity) throw new Error(`istiod's CA would not certify this proxy: ${verdict.stage}: ${verdict.error}`);
    return new TaskProxyModel(options, metadata, proxyConfig, parseSpiffe(verdict.identity));
  }

  private constructor(
    private readonly options: TaskProxyOptions,
    readonly metadata: ModelNodeMetadata,
    readonly proxyConfig: ModelProxyConfig,
    readonly identity: { namespace: string; serviceAccount: string },
  ) {
    this.checker = WorkloadHealthCheckerModel.create(proxyConfig.readinessProbe, [options.address]);
  }

  /** True when istio-agent runs a probe (the ProxyConfig has one). */
  get probes(): boolean {
    return this.checker !== undefined;
  }

  /** The ADS connection's start: istiod's OnConnect (which refuses what upstream refuses, by throwing). */
  async connect(now: Date): Promise<void> {
    const connection: ModelConnection = {
      id: `${this.metadata.workloadEntry ?? 'proxy'}-${++TaskProxyModel.connections}`,
      proxy: {
        id: `${this.metadata.workloadEntry ?? 'proxy'}.${this.metadata.namespace ?? ''}`,
        ipAddresses: [this.options.address],
        namespace: this.metadata.namespace ?? '',
        ...(this.metadata.network ? { network: this.metadata.network } : {}),
        ...(this.metadata.workloadEntry ? { workloadEntry: this.metadata.workloadEntry } : {}),
        verifiedIdentity: this.identity,
      },
      connectedAt: now,
    };
    await this.options.istiod.onConnect(connection);
    this.connection = connection;
  }

  /** One period of istio-agent's health checker; a change of state is reported over the connection. */
  async probe(now: Date): Promise<void> {
    if (!this.checker || !this.connection) return;
    const event = await this.checker.check();
    if (event) await this.options.istiod.reportHealth(this.connection.proxy, event, now);
  }

  async disconnect(now: Date): Promise<void> {
    if (!this.connection) return;
    await this.options.istiod.onDisconnect(this.connection, now);
    this.connection = undefined;
  }
}
