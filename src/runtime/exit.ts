import { flushLogger, type Logger } from '../log'

/** Exits once `stopping` settles: 0 after a clean stop, 1 if stopping failed; the last log lines are flushed. */
export function exitWhenStopped (stopping: Promise<void>, log: Logger): void {
  stopping.then(() => {
    log.info('stopped cleanly')
    flushLogger(log)
    process.exit(0)
  }, (err: unknown) => {
    log.error({ err }, 'shutdown failed')
    flushLogger(log)
    process.exit(1)
  })
}
