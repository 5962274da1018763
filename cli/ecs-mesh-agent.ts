/**
 * `ecs-mesh-agent`: the ECS sidecar that trades the task role for an onboarding token and keeps it
 * fresh on disk for the proxy (docs/architecture.md#exchange). Usage: `ecs-mesh-agent [--once]`; configured by env.
 */
import { loadAgentConfig, type AgentConfig } from './agent/config.js';
import { AgentConfigError } from './agent/errors.js';
import { createJsonLog } from './agent/log.js';
import { createTokenSource } from './agent/obtain-token.js';
import { EXIT_CODES, runAgent, systemTiming } from './agent/run.js';
import { writeTokenFile } from './agent/token-file.js';

const USAGE = `usage: ecs-mesh-agent [--once]

  --once   exit 0 after the first token is written (init containers); transient failures are retried

Environment: ONBOARDING_CONFIG (required: JSON, YAML or @/path), ONBOARDING_AGENT_ROOT_CERTS,
ONBOARDING_SERVER_ID, ONBOARDING_TOKEN_PATH, AWS_REGION, STS_ENDPOINT (local runs), and the ECS
variables ECS_CONTAINER_METADATA_URI_V4 and AWS_CONTAINER_CREDENTIALS_{RELATIVE,FULL}_URI.
Exit codes: 0 stopped or done, 1 refused for good, 2 bad configuration.
`;

const log = createJsonLog((line) => process.stderr.write(line));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(EXIT_CODES.OK);
}
const unknown = args.filter((a) => a !== '--once');
if (unknown.length > 0) {
  process.stderr.write(`unknown argument: ${unknown.join(' ')}\n${USAGE}`);
  process.exit(EXIT_CODES.CONFIG_INVALID);
}
const once = args.includes('--once');

let config: AgentConfig;
try {
  config = loadAgentConfig(process.env);
} catch (error) {
  if (!(error instanceof AgentConfigError)) throw error;
  log('error', 'config.invalid', { code: error.code, message: error.message });
  process.exit(EXIT_CODES.CONFIG_INVALID);
}

const stop = new AbortController();
for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => stop.abort());

log('info', 'agent.started', { exchangeUrl: config.exchangeUrl, serverId: config.serverId, tokenPath: config.tokenPath, workloadGroup: config.workloadGroup, once });
for (const ignored of config.ignoredFields) log('warn', 'config.ignored', { message: ignored });
const tokenPath = config.tokenPath;
const code = await runAgent({ exchange: createTokenSource(config), writeToken: (token) => writeTokenFile(tokenPath, token), log, timing: systemTiming }, { once, signal: stop.signal });
// Exit now rather than when idle sockets close: ECS gives a stopping task only a few seconds.
process.exit(code);
