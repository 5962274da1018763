import type { Log } from '../ports.js';

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
