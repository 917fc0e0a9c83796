/**
 * The process logger. Request lines are built from an allow-list of fields (see xks/request-log.ts). Configured
 * secrets are `Secret` objects that print as "[redacted]" wherever they sit (config/secret.ts); the redact paths
 * below are a second line of defence should anyone ever log a request body or a raw secret string.
 */
import pino from 'pino'

export type Logger = pino.Logger

// Exact paths only: pino's wildcard paths ('*.x') walk every object on every line and cost ~50 µs a line here
// (measured), as much as the rest of a request's logging. Request lines come from an allow-list anyway.
const REDACT_PATHS = [
  'plaintext', 'additionalAuthenticatedData', 'secretAccessKey', 'pin', 'authorization', 'headers.authorization',
  'body', 'req.headers.authorization',
]

export interface LoggerOptions {
  level: string
  /** Extra fields on every line, e.g. the cluster worker id. */
  base?: Record<string, unknown>
  /** Where to write; defaults to an asynchronous stdout destination. */
  destination?: pino.DestinationStream
}

/**
 * stdout, written asynchronously in chunks of at least 4 KiB (one write per line cost ~1 µs more per request,
 * measured) and flushed every 250 ms, so a quiet proxy's lines still come out promptly. If the reader of stdout
 * stops reading, at most 16 MiB wait in memory: lines beyond that are dropped and counted
 * (xksgate_log_lines_dropped_total), so a stuck log pipe costs log lines, never memory or request latency.
 */
const STDOUT = { dest: 1, sync: false, minLength: 4096, maxLength: 16 * 1024 * 1024, periodicFlush: 250 }
let dropped = 0

/** Log lines dropped because stdout was not being read (see STDOUT). */
export function droppedLogLines (): number {
  return dropped
}

function stdoutDestination (): pino.DestinationStream {
  const stream = pino.destination(STDOUT)
  stream.on('drop', () => { dropped++ })
  return stream
}

export function createLogger ({ level, base = {}, destination }: LoggerOptions): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination ?? stdoutDestination())
}

/** Flush an asynchronous destination before the process exits, so the last lines (shutdown, fatal) are kept. */
export function flushLogger (log: Logger): void {
  try {
    log.flush()
  } catch {
    // A destination that cannot flush synchronously has nothing buffered to lose.
  }
}
