/**
 * `ecs-mesh-agent`: the ECS sidecar that trades the task role for an onboarding token and keeps it
 * fresh on disk for the proxy (docs/architecture.md#exchange). Usage: `ecs-mesh-agent [--once | --healthcheck]`; configured by env.
 */
import { readFileSync } from 'node:fs';
import { loadAgentConfig, tokenPathFrom, type AgentConfig } from './agent/config.js';
import { checkTokenFile } from './agent/health.js';
import { AgentConfigError } from './agent/errors.js';
import type { ProxyDeclaration } from './agent/exchange.js';
import { createJsonLog } from './agent/log.js';
import { createTokenSource } from './agent/obtain-token.js';
import { EXIT_CODES, runAgent, systemTiming } from './agent/run.js';
import { writePrivateFile } from './agent/private-file.js';
import { writeProxyConfig } from './agent/proxy-config.js';

const USAGE = `usage: ecs-mesh-agent [--once | --healthcheck]

  --once          exit 0 after the first token is written (init containers); transient failures are retried
  --healthcheck   exit 0 if the token file holds an unexpired token, else 1 (container HEALTHCHECK)

Environment: ONBOARDING_CONFIG (required: JSON, YAML or @/path), ONBOARDING_AGENT_ROOT_CERTS,
ONBOARDING_SERVER_ID, ONBOARDING_TOKEN_PATH, ONBOARDING_PROXY_CONFIG_DIR, ONBOARDING_TOKEN_OWNER (as root), AWS_REGION, STS_ENDPOINT (local runs), and the ECS
variables ECS_CONTAINER_METADATA_URI_V4 and AWS_CONTAINER_CREDENTIALS_{RELATIVE,FULL}_URI.
Exit codes: 0 stopped or done, 1 refused for good, 2 bad configuration.
`;

const log = createJsonLog((line) => process.stderr.write(line));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(EXIT_CODES.OK);
}
const unknown = args.filter((a) => a !== '--once' && a !== '--healthcheck');
if (unknown.length > 0 || args.length > 1) {
  process.stderr.write(`${unknown.length > 0 ? `unknown argument: ${unknown.join(' ')}` : 'give one option at most'}\n${USAGE}`);
  process.exit(EXIT_CODES.CONFIG_INVALID);
}
if (args[0] === '--healthcheck') {
  const health = checkTokenFile(tokenPathFrom(process.env), Date.now(), (path) => readFileSync(path, 'utf8'));
  process.stdout.write(health.healthy ? `healthy: token valid until ${health.expiresAt.toISOString()}\n` : `unhealthy: ${health.reason}\n`);
  process.exit(health.healthy ? EXIT_CODES.OK : EXIT_CODES.REFUSED);
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

log('info', 'agent.started', { exchangeUrl: config.exchangeUrl, serverId: config.serverId, tokenPath: config.tokenPath, proxyConfigDir: config.proxyConfigDir, tokenOwner: config.tokenOwner && `${config.tokenOwner.uid}:${config.tokenOwner.gid}`, workloadGroup: config.workloadGroup, once });
for (const ignored of config.ignoredFields) log('warn', 'config.ignored', { message: ignored });
const { tokenPath, tokenOwner, proxyConfigDir } = config;
// The proxy's declaration first: a proxy that starts once the token is there finds it too.
const writeToken = async (token: string, proxy: ProxyDeclaration) => {
  if (proxyConfigDir !== undefined) await writeProxyConfig(proxyConfigDir, proxy, tokenOwner);
  await writePrivateFile(tokenPath, token, tokenOwner);
};
const code = await runAgent({ exchange: createTokenSource(config), writeToken, log, timing: systemTiming }, { once, signal: stop.signal });
// Exit now rather than when idle sockets close: ECS gives a stopping task only a few seconds.
process.exit(code);
