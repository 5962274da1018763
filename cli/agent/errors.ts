/** The agent's failures, each with a stable code for its log line (docs/architecture.md#exchange). */

/** The configuration cannot work: the agent exits 2 without contacting anything. */
export class AgentConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AgentConfigError';
  }
}

/** A dependency (metadata, credentials, the exchange) failed in a way a later retry may fix. */
export class AgentTransientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AgentTransientError';
  }
}

interface Issue {
  path: readonly PropertyKey[];
  message: string;
  /** A record key's own issues (zod reports only "Invalid key in record" at the top). */
  issues?: readonly { message: string }[];
}

/** `path: message` for each schema issue, with "required" for a missing field (zod says "received undefined"). */
export function describeIssues(issues: readonly Issue[], root: string): string {
  return issues
    .map((i) => {
      const message = i.issues?.[0]?.message ?? i.message;
      return `${i.path.map(String).join('.') || root}: ${/received undefined$/.test(message) ? 'required' : message}`;
    })
    .join('; ');
}
