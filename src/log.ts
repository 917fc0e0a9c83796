/**
 * The process logger. Request lines are built from an allow-list of fields (see xks/request-log.ts); the redact
 * paths below are a second line of defence should anyone ever log a request body or a config object.
 */
import pino from 'pino'

export type Logger = pino.Logger

const REDACT_PATHS = [
  'plaintext', '*.plaintext', 'additionalAuthenticatedData', '*.additionalAuthenticatedData',
  'secretAccessKey', '*.secretAccessKey', '*.*.secretAccessKey', 'pin', '*.pin',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'body', '*.body',
]

export interface LoggerOptions {
  level: string
  /** Extra fields on every line, e.g. the cluster worker id. */
  base?: Record<string, unknown>
  /** Where to write; defaults to an asynchronous stdout destination. */
  destination?: pino.DestinationStream
}

export function createLogger ({ level, base = {}, destination }: LoggerOptions): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination ?? pino.destination({ dest: 1, sync: false }))
}

/** Flush an asynchronous destination before the process exits, so the last lines (shutdown, fatal) are kept. */
export function flushLogger (log: Logger): void {
  try {
    log.flush()
  } catch {
    // A destination that cannot flush synchronously has nothing buffered to lose.
  }
}
