/** Runs the agent (its sources, or the bundle `npm run build:agent` makes) as a real child process and collects what it prints. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface AgentProcess {
  child: ChildProcess;
  /** stdout and stderr, interleaved as they arrive. */
  output(): string;
  /** The JSON log lines printed so far. */
  events(): Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** How the agent is started: node's arguments before the agent's own, and where. */
export interface AgentRunner {
  argv: string[];
  cwd?: string;
}

/** The sources through tsx, from the repository. */
export const AGENT_SOURCES: AgentRunner = { argv: ['--import', 'tsx', 'cli/ecs-mesh-agent.ts'] };

/** The bundle at `path`, run from `cwd` (a directory with no node_modules up its tree proves it needs none). */
export const agentBundle = (path: string, cwd: string): AgentRunner => ({ argv: [path], cwd });

/** Starts the agent with exactly `env` (plus PATH), so nothing of the test's own environment leaks in. */
export function startAgentProcess(env: Record<string, string>, args: string[] = [], runner: AgentRunner = AGENT_SOURCES): AgentProcess {
  const child = spawn(process.execPath, [...runner.argv, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(runner.cwd ? { cwd: runner.cwd } : {}) });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    events: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
  };
}

/** Resolves once `predicate` holds for the agent's events, or rejects after `timeoutMs`. */
export async function waitForEvent(agent: AgentProcess, predicate: (event: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = agent.events().find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching agent event within ${timeoutMs} ms; output:\n${agent.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
