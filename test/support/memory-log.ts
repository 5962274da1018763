import type { Log } from '../../shared/ports.js';

/** A Log that keeps every line, so tests can assert on what an operator would read. */
export class MemoryLog implements Log {
  readonly lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  debug = (message: string, extra?: Record<string, unknown>) => void this.lines.push({ level: 'debug', message, extra });
  info = (message: string, extra?: Record<string, unknown>) => void this.lines.push({ level: 'info', message, extra });
  warn = (message: string, extra?: Record<string, unknown>) => void this.lines.push({ level: 'warn', message, extra });
  error = (message: string, extra?: Record<string, unknown>) => void this.lines.push({ level: 'error', message, extra });
}
