/**
 * Entry point of a serving process forked by the cluster primary. It asks the primary for its configuration — the
 * one the primary validated, never the file as it may be by now (config-wire.ts) — serves it, and tells the
 * primary when it is ready, or why it could not start. Lost IPC means the primary is gone: stop too, rather than
 * serve unsupervised. SIGHUP is the primary's to act on (a hangup reaching the whole process group must not stop
 * the serving processes): here it is ignored.
 */
import cluster from 'node:cluster'
import { ConfigError } from '../config/load'
import { createLogger, type Logger } from '../log'
import { ProcessMetrics } from '../metrics/process-metrics'
import { exitOnStartupFailure } from '../runtime/exit'
import { serve } from '../runtime/serve'
import { fromWire } from './config-wire'
import { isMessage, type ConfigRequest, type ReadyMessage, type StartFailedMessage } from './messages'
import { materializeTls } from './tls-material'

/** The primary answers at once; silence means it is gone or broken. */
const CONFIG_TIMEOUT_MS = 10_000

async function receiveConfig (): Promise<ReturnType<typeof fromWire>> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no configuration from the cluster primary within ${CONFIG_TIMEOUT_MS} ms`)), CONFIG_TIMEOUT_MS)
    const onMessage = (message: unknown): void => {
      if (!isMessage(message, 'xksgate:config')) return
      clearTimeout(timer)
      process.off('message', onMessage)
      resolve(fromWire(message.wire))
    }
    process.on('message', onMessage)
    process.send?.({ type: 'xksgate:config-request' } satisfies ConfigRequest)
  })
}

async function main (worker: number, log: Logger): Promise<void> {
  const metrics = new ProcessMetrics()
  // Before anything slow: the primary's scrape waits for every connected process to answer.
  metrics.shareWithPrimary()
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
  process.on('SIGHUP', () => log.info('SIGHUP ignored: the cluster primary reloads'))
  const validated = await receiveConfig()
  log.level = validated.config.log.level
  const tls = materializeTls(validated.config, validated.tls)
  try {
    await serve(tls.config, log, {
      metrics,
      worker,
      onReady: running => {
        tls.remove()
        process.send?.({ type: 'xksgate:ready', port: running.port } satisfies ReadyMessage)
      },
    })
  } finally {
    tls.remove()
  }
}

/** The one line the primary logs when a reload fails: the problems, or the message. */
function reasonOf (err: unknown): string {
  return err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message
}

const worker = cluster.worker?.id ?? 0
// Created before the config arrives (at its default level), so that even a startup error is logged as JSON.
const log = createLogger({ level: 'info', base: { worker } })
main(worker, log).catch((err: unknown) => {
  const report: StartFailedMessage = { type: 'xksgate:start-failed', reason: reasonOf(err) }
  if (process.send === undefined) exitOnStartupFailure(`xksgate (serving process ${worker})`, err, log)
  process.send(report, undefined, undefined, () => exitOnStartupFailure(`xksgate (serving process ${worker})`, err, log))
})
