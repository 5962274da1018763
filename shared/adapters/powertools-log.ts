import type { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Log } from '../ports.js';

/** Adapts Powertools' Logger (structured JSON, Lambda context) to the use cases' Log port. */
export function powertoolsLog(logger: Logger): Log {
  const extra = (e: Record<string, unknown> | undefined) => (e ?? {}) as LogAttributes;
  return {
    debug: (m, e) => logger.debug(m, extra(e)),
    info: (m, e) => logger.info(m, extra(e)),
    warn: (m, e) => logger.warn(m, extra(e)),
    error: (m, e) => logger.error(m, extra(e)),
  };
}
