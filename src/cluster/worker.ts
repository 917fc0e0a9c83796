/**
 * Entry point of a serving process forked by the cluster primary. Loads the same config file (with the same
 * environment), serves, and tells the primary when it is ready. Lost IPC means the primary is gone: stop too,
 * rather than serve unsupervised.
 */
import cluster from 'node:cluster'
import { loadConfig } from '../config/load'
import { createLogger } from '../log'
import { ProcessMetrics } from '../metrics/process-metrics'
import { serve } from '../runtime/serve'
import { CONFIG_FILE_ENV, type ReadyMessage } from './messages'

async function main (): Promise<void> {
  const config = loadConfig({ file: process.env[CONFIG_FILE_ENV] ?? '' })
  const worker = cluster.worker?.id ?? 0
  const log = createLogger({ level: config.log.level, base: { worker } })
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

main().catch((err: unknown) => {
  process.stderr.write(`xksgate worker: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
