/**
 * How a process ends: after a stop (exit 0, or 1 if stopping failed) or after a failed start. A failed start is
 * one JSON line on the log and a short message on stderr; expected failures (a configuration error, an HSM that
 * refuses the PIN, a port in use, a missing module) carry no stack trace, since the message says all there is.
 */
import { CONFIG_ERROR_EXIT, ConfigError } from '../config/load'
import { flushLogger, type Logger } from '../log'
import { openNativeWork } from '../hsm/native-work'

/** An expected startup failure that is not the configuration's fault alone (a port in use, an HSM that is down). */
export class StartupError extends Error {
  constructor (message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'StartupError'
  }
}

/** Exits once `stopping` settles: 0 after a clean stop, 1 if stopping failed; the last log lines are flushed. */
export function exitWhenStopped (stopping: Promise<void>, log: Logger): void {
  stopping.then(() => {
    log.info('stopped cleanly')
    flushLogger(log)
    exitProcess(0, log)
  }, (err: unknown) => {
    log.error({ err }, 'shutdown failed')
    flushLogger(log)
    exitProcess(1, log)
  })
}

/** Reports a failed start (`program` prefixes the stderr line, e.g. "xksgate") and exits: 2 for a ConfigError. */
export function exitOnStartupFailure (program: string, err: unknown, log: Logger): never {
  let code = 1
  if (err instanceof ConfigError) {
    code = CONFIG_ERROR_EXIT
    log.fatal({ problems: err.problems }, 'startup failed: invalid configuration')
    process.stderr.write(`${program}: ${err.message}\n`)
  } else if (err instanceof StartupError) {
    code = err.exitCode
    log.fatal({ reason: err.message }, 'startup failed')
    process.stderr.write(`${program}: ${err.message}\n`)
  } else {
    log.fatal({ err }, 'startup failed')
    process.stderr.write(`${program}: ${(err as Error).stack ?? String(err)}\n`)
  }
  flushLogger(log)
  exitProcess(code, log)
}

/**
 * process.exit(code), or SIGKILL while a thread may be stuck in a PKCS#11 call: Node joins every thread at exit,
 * so process.exit would never return (src/hsm/native-work.ts).
 */
function exitProcess (code: number, log: Logger): never {
  const stuck = openNativeWork()
  if (stuck.length > 0) {
    log.fatal({ exitCode: code, stuck }, `a PKCS#11 call has not returned, and Node cannot end a thread inside one: ending the process with SIGKILL instead of exit ${code}`)
    flushLogger(log)
    process.kill(process.pid, 'SIGKILL')
  }
  process.exit(code)
}
