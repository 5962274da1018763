// Types of scripts/build-agent.mjs for the TypeScript tests that import it.
export const DEFAULT_OUTFILE: string;
export function buildAgent(options?: { outfile?: string }): Promise<{ outfile: string; metafile: { outputs: Record<string, { imports: { path: string; external?: boolean }[] }> } }>;
