/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits: 0 after a clean stop, 1 if stopping failed.
 * A second signal while stopping exits at once, for an operator who really means it.
 */
import { flushLogger, type Logger } from '../log'

export function exitOnShutdownSignals (log: Logger, stop: (signal: string) => Promise<void>): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal while stopping: exiting now')
      flushLogger(log)
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'shutting down')
    stop(signal).then(() => {
      log.info('stopped cleanly')
      flushLogger(log)
      process.exit(0)
    }, (err: unknown) => {
      log.error({ err }, 'shutdown failed')
      flushLogger(log)
      process.exit(1)
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}
