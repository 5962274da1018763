/** The logging the use cases need; Powertools' Logger satisfies it. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** The same log with `correlation_id` on every line: one record's id inside a batch processed concurrently. */
export function withCorrelationId(log: Log, correlationId: string): Log {
  const add = (extra: Record<string, unknown> | undefined) => ({ ...extra, correlation_id: correlationId });
  return {
    debug: (m, e) => log.debug(m, add(e)),
    info: (m, e) => log.info(m, add(e)),
    warn: (m, e) => log.warn(m, add(e)),
    error: (m, e) => log.error(m, add(e)),
  };
}
