/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Structured logging: a short constant message plus fields. The client logs each event once, where it is
 * handled (connects, drops, rejected registrations, callbacks that threw, bounds that were hit).
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => undefined;

/** The default logger: says nothing. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options of {@link consoleJsonLogger}. */
export interface ConsoleJsonLoggerOptions {
  /** Lowest level written. Default `info`. */
  level?: LogLevel;
  /** Where each JSON line goes. Default: `process.stderr`. */
  write?: (line: string) => void;
  /** Clock for the `time` field. Default `Date.now`. */
  now?: () => number;
  /** Added to every line as `name`. Default `sofareg-client`. */
  name?: string;
}

/**
 * A logger writing one JSON object per line (`{time, level, name, msg, ...fields}`), pino-compatible enough
 * for the usual tools. Errors in fields are written as `{name, message, code}`.
 */
export function consoleJsonLogger(options: ConsoleJsonLoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const now = options.now ?? Date.now;
  const name = options.name ?? 'sofareg-client';
  const log =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (RANK[level] < min) return;
      const line: Record<string, unknown> = { time: now(), level, name, msg: message };
      for (const [k, v] of Object.entries(fields ?? {})) line[k] = v instanceof Error ? errorFields(v) : v;
      let text: string;
      try {
        text = JSON.stringify(line);
      } catch {
        text = JSON.stringify({ time: line.time, level, name, msg: message, note: 'fields not serializable' });
      }
      write(text);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function errorFields(e: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  return out;
}
