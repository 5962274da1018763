/**
 * One JSON line per event, for CloudWatch Logs Insights. Callers pass only non-secret fields:
 * never a token, a credential, a signature or an answer body.
 */
import { visibleText } from '../terminal-text.js';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;
export type AgentLog = (level: LogLevel, event: string, fields?: LogFields) => void;

/**
 * Returns a logger that writes `{ time, level, event, ...fields }` lines through `write`. A
 * refusal's reason and message are the server's text: JSON escapes their C0 controls but not
 * DEL, C1 or bidi ones, which visibleText turns into the same JSON escapes for whoever tails the log.
 */
export function createJsonLog(write: (line: string) => void, now: () => number = Date.now): AgentLog {
  return (level, event, fields = {}) => write(`${visibleText(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields }))}\n`);
}
