/**
 * Runs one serving process to completion: start, report ready, and on SIGTERM/SIGINT stop in order
 * (readiness off → grace → stop accepting → drain → close sessions) and exit 0. Used in-process (one process,
 * e.g. each PM2 fork-mode instance) and by every cluster worker.
 */
import type { XksgateConfig } from '../config/schema'
import type { Logger } from '../log'
import { exitWhenStopped } from './exit'
import type { ProcessMetrics } from '../metrics/process-metrics'
import { startXksgate, type RunningXksgate } from './xksgate'

export interface ServeOptions {
  metrics: ProcessMetrics
  worker: number
  /** Called once serving; the caller tells its supervisor (primary IPC, PM2 'ready', connection.json). */
  onReady: (running: RunningXksgate) => void | Promise<void>
  /** Runs after the server has stopped, before exit (e.g. remove connection.json, close the metrics port). */
  onStopped?: () => void | Promise<void>
  /** SIGHUP (Node's default would end the process without a drain); ignored when absent. */
  onHangup?: () => void
}

export async function serve (config: XksgateConfig, log: Logger, options: ServeOptions): Promise<void> {
  let stopping: Promise<void> | undefined
  let running: RunningXksgate | undefined
  const stop = (signal: string): void => {
    // Ctrl-C reaches the primary and every worker, and the primary forwards SIGTERM too: the first one counts.
    if (stopping !== undefined) return
    log.info({ signal }, 'shutting down: readiness off')
    stopping = (async () => {
      running?.beginShutdown()
      if (config.shutdown.graceMs > 0) await new Promise(resolve => setTimeout(resolve, config.shutdown.graceMs))
      await running?.close(config.shutdown.drainMs)
      await options.onStopped?.()
    })()
    exitWhenStopped(stopping, log)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => options.onHangup?.())
  running = await startXksgate(config, log, { metrics: options.metrics, worker: options.worker })
  // A signal that arrived during startup: stop now that there is something to stop.
  if (stopping === undefined) await options.onReady(running)
  else running.beginShutdown()
}
