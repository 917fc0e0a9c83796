/**
 * Entry point of a serving process forked by the cluster primary. Loads the same config file (with the same
 * environment), serves, and tells the primary when it is ready. Lost IPC means the primary is gone: stop too,
 * rather than serve unsupervised.
 */
import cluster from 'node:cluster'
import { loadConfig } from '../config/load'
import { createLogger, type Logger } from '../log'
import { ProcessMetrics } from '../metrics/process-metrics'
import { exitOnStartupFailure } from '../runtime/exit'
import { serve } from '../runtime/serve'
import { CONFIG_FILE_ENV, type ReadyMessage } from './messages'

async function main (worker: number, log: Logger): Promise<void> {
  const config = loadConfig({ file: process.env[CONFIG_FILE_ENV] ?? '' })
  log.level = config.log.level
  const metrics = new ProcessMetrics()
  // Before anything slow: the primary's scrape waits for every connected process to answer.
  metrics.shareWithPrimary()
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
  await serve(config, log, {
    metrics,
    worker,
    onReady: running => {
      const message: ReadyMessage = { type: 'xksgate:ready', port: running.port }
      process.send?.(message)
    },
  })
}

const worker = cluster.worker?.id ?? 0
// Created before the config is read (at its default level), so that even a config error is logged as JSON.
const log = createLogger({ level: 'info', base: { worker } })
main(worker, log).catch((err: unknown) => exitOnStartupFailure(`xksgate (serving process ${worker})`, err, log))
