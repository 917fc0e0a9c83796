/**
 * The cluster primary: forks the serving processes and keeps their number, and does no request work itself.
 * Every process binds the TLS port on its own (uWS sets SO_REUSEPORT) and the kernel spreads connections, so the
 * primary hands out no sockets; launch() has claimed the port for them before this runs (port-ownership.ts).
 * At start the processes are forked one after the other, each once the previous one is ready (see below). A
 * process that dies is replaced after a backoff that doubles while replacements keep dying before they are
 * ready; a process that dies before the first start completed fails the start (a broken config or HSM would
 * otherwise crash-loop forever).
 */
import cluster, { type Worker } from 'node:cluster'
import path from 'node:path'
import { CONFIG_ERROR_EXIT } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import type { Logger } from '../log'
import { StartupError } from '../runtime/exit'
import { CONFIG_FILE_ENV, WORKER_ENV, isReadyMessage } from './messages'

export interface ClusterPrimary {
  /** The TLS port the processes reported. */
  port: number
  readyCount: () => number
  /** SIGTERM to every process, wait for all to exit (SIGKILL after timeoutMs). */
  stop: (timeoutMs: number) => Promise<void>
}

export interface PrimaryOptions {
  config: XksgateConfig
  configFile: string
  processes: number
  log: Logger
}

/**
 * The other process a primary's line is about, under a key of its own: every line already carries the primary's
 * own `pid` and `worker` (log.ts), and a second `pid` on one line is a duplicate key that jq would take as the
 * line's origin.
 */
function identity (worker: Worker): { worker: number, pid: number | undefined } {
  return { worker: worker.id, pid: worker.process.pid }
}

export async function startPrimary ({ config, configFile, processes, log }: PrimaryOptions): Promise<ClusterPrimary> {
  cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js') })
  const ready = new Set<number>()
  let port = 0
  let stopping = false
  let started = false
  let failures = 0
  let failStart: (err: Error) => void = () => {}
  let allReady: () => void = () => {}

  const fork = (): Worker => {
    const worker = cluster.fork({ [WORKER_ENV]: '1', [CONFIG_FILE_ENV]: configFile })
    worker.on('message', (message: unknown) => {
      if (!isReadyMessage(message)) return
      ready.add(worker.id)
      port = message.port
      failures = 0
      log.info({ servingProcess: identity(worker), ready: ready.size, of: processes }, 'serving process ready')
      if (started) return
      if (ready.size === processes) allReady()
      else fork()
    })
    return worker
  }

  cluster.on('exit', (worker, code, signal) => {
    const wasReady = ready.delete(worker.id)
    if (stopping) return
    if (!started) {
      // Its own error is on stderr already; its exit status says whether restarting could help.
      failStart(new StartupError(`serving process ${worker.id} exited during startup (code ${code}, signal ${signal})`, code === CONFIG_ERROR_EXIT ? code : 1))
      return
    }
    const delay = Math.min(config.cluster.restartMaxMs, config.cluster.restartMinMs * 2 ** failures)
    if (!wasReady) failures++
    // A process stopped by a signal sent to it alone exits 0 after its graceful stop: unexpected, not a crash.
    const clean = code === 0 && signal === null
    log[clean ? 'warn' : 'error']({ servingProcess: identity(worker), code, signal, restartInMs: delay },
      clean ? 'serving process exited cleanly; replacing it' : 'serving process died; replacing it')
    // Not unref'd: with every process dead (and no metrics port) this timer is what keeps the primary alive.
    setTimeout(() => { if (!stopping) fork() }, delay)
  })

  const stop = async (timeoutMs: number): Promise<void> => {
    stopping = true
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
    await Promise.all(workers.map(async worker => {
      if (worker.process.exitCode !== null || worker.process.signalCode !== null) return
      const exited = new Promise(resolve => worker.once('exit', resolve))
      worker.process.kill('SIGTERM')
      const timer = setTimeout(() => worker.process.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(timer)
    }))
  }

  try {
    await new Promise<void>((resolve, reject) => {
      allReady = resolve
      failStart = reject
      // One after the other: each next process is forked once the previous one is ready. Two processes opening
      // one SoftHSM token at the same instant failed now and then (CKR_GENERAL_ERROR from C_GetTokenInfo, or the
      // token missing from the slot list), in CI and in the benchmark; a start costs ~1 s more per process.
      fork()
    })
  } catch (err) {
    await stop(2000)
    throw err
  }
  started = true
  return { port, readyCount: () => ready.size, stop }
}
