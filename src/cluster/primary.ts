/**
 * The cluster primary: forks the serving processes, keeps their number, replaces them one at a time on a reload,
 * and does no request work itself. Every process binds the TLS port on its own (uWS sets SO_REUSEPORT) and the
 * kernel spreads connections, so the primary hands out no sockets; launch() has claimed the port for them before
 * this runs (port-ownership.ts).
 *
 * Every process serves a configuration the primary validated, handed over IPC (config-wire.ts): the one of the
 * last successful start or reload. A crash replacement therefore never reads a file that changed since.
 * At start the processes are forked one after the other, each once the previous one is ready: two processes
 * opening one SoftHSM token at the same instant failed now and then (CKR_GENERAL_ERROR from C_GetTokenInfo, or
 * the token missing from the slot list). A process that dies is replaced after a backoff that doubles while
 * replacements keep dying before they are ready; one that dies during the first start fails the start (a broken
 * config or HSM would otherwise crash-loop forever).
 */
import cluster from 'node:cluster'
import path from 'node:path'
import { CONFIG_ERROR_EXIT } from '../config/load'
import type { Logger } from '../log'
import { ServingProcessFailed, generation, identity, type Generation, type Member } from './members'
import { WORKER_ENV, isMessage } from './messages'
import { reloader } from './reload'
import type { ReloadStatus } from '../runtime/reload-queue'
import type { ValidatedConfig } from './validated-config'

export interface ClusterPrimary {
  /** The TLS port the processes reported. */
  port: number
  readyCount: () => number
  /** Starts a reload from the config file (SIGHUP); one requested during another follows it. */
  reload: () => void
  status: () => ReloadStatus
  /** SIGTERM to every process, wait for all to exit (SIGKILL after timeoutMs). */
  stop: (timeoutMs: number) => Promise<void>
}

export interface PrimaryOptions {
  validated: ValidatedConfig
  configFile: string
  processes: number
  log: Logger
}

export async function startPrimary ({ validated, configFile, processes, log }: PrimaryOptions): Promise<ClusterPrimary> {
  cluster.setupPrimary({ exec: path.join(__dirname, 'worker.js') })
  const members = new Map<number, Member>()
  let current = generation(1, validated)
  let port = 0
  let stopping = false
  let started = false
  let failures = 0

  const fork = (gen: Generation): Member => {
    const worker = cluster.fork({ [WORKER_ENV]: '1' })
    let failure = ''
    let markReady = (): void => {}
    let markExited = (): void => {}
    const exited = new Promise<void>(resolve => { markExited = resolve })
    const readiness = new Promise<void>((resolve, reject) => {
      markReady = resolve
      void exited.then(() => {
        const { exitCode, signalCode } = worker.process
        // The reason it reported, when it could: the primary's own line then says why, not only how it ended.
        const why = failure === '' ? '' : `: ${failure}`
        reject(new ServingProcessFailed(`serving process ${worker.id} exited during startup (code ${exitCode}, signal ${signalCode})${why}`,
          exitCode === CONFIG_ERROR_EXIT ? CONFIG_ERROR_EXIT : 1, failure))
      })
    })
    readiness.catch(() => {})
    const member: Member = { worker, generation: gen, ready: false, retiring: false, candidate: false, readiness, exited }
    members.set(worker.id, member)
    worker.on('message', (message: unknown) => {
      if (isMessage(message, 'xksgate:config-request')) worker.send({ type: 'xksgate:config', wire: gen.wire })
      else if (isMessage(message, 'xksgate:start-failed')) failure = message.reason
      else if (isMessage(message, 'xksgate:ready')) {
        member.ready = true
        port = message.port
        failures = 0
        log.info({ servingProcess: identity(worker), generation: gen.id, ready: readyCount(), of: processes }, 'serving process ready')
        markReady()
      }
    })
    worker.once('exit', () => markExited())
    return member
  }
  const readyCount = (): number => [...members.values()].filter(m => m.ready && !m.retiring).length

  /** Waits until `member` serves; one that does not within cluster.readyTimeoutMs is stopped and counts as failed. */
  const untilReady = async (member: Member): Promise<void> => {
    const timeoutMs = member.generation.config.cluster.readyTimeoutMs
    const timer = setTimeout(() => {
      log.error({ servingProcess: identity(member.worker), timeoutMs }, 'serving process not ready in time; stopping it')
      member.retiring = true
      member.worker.process.kill('SIGKILL')
    }, timeoutMs)
    try {
      await member.readiness
    } finally {
      clearTimeout(timer)
    }
  }

  /** SIGTERM (the graceful stop: readiness off, drain, linger), SIGKILL after timeoutMs. */
  const retire = async (member: Member, timeoutMs: number): Promise<void> => {
    member.retiring = true
    if (member.worker.process.exitCode === null && member.worker.process.signalCode === null) member.worker.process.kill('SIGTERM')
    const timer = setTimeout(() => member.worker.process.kill('SIGKILL'), timeoutMs)
    await member.exited
    clearTimeout(timer)
  }

  cluster.on('exit', (worker, code, signal) => {
    const member = members.get(worker.id)
    members.delete(worker.id)
    if (member === undefined || member.retiring || stopping || !started) return
    // A reload candidate that dies is the reload's failure to report, not a crash to repair.
    if (member.candidate) return
    const delay = Math.min(current.config.cluster.restartMaxMs, current.config.cluster.restartMinMs * 2 ** failures)
    if (!member.ready) failures++
    // A process stopped by a signal sent to it alone exits 0 after its graceful stop: unexpected, not a crash.
    const clean = code === 0 && signal === null
    log[clean ? 'warn' : 'error']({ servingProcess: identity(worker), code, signal, restartInMs: delay, generation: current.id },
      clean ? 'serving process exited cleanly; replacing it' : 'serving process died; replacing it')
    // Not unref'd: with every process dead (and no metrics port) this timer is what keeps the primary alive.
    setTimeout(() => { if (!stopping) fork(current) }, delay)
  })

  const stop = async (timeoutMs: number): Promise<void> => {
    stopping = true
    await Promise.all([...members.values()].map(async m => await retire(m, timeoutMs)))
  }

  const reload = reloader({
    configFile,
    processes,
    log,
    current: () => current,
    commit: gen => { current = gen },
    stopping: () => stopping,
    members: () => [...members.values()],
    fork,
    untilReady,
    retire,
  })

  try {
    // One after the other: each next process is forked once the previous one is ready (see above).
    for (let i = 0; i < processes; i++) await untilReady(fork(current))
  } catch (err) {
    await stop(2000)
    throw err
  }
  started = true
  return { port, readyCount, reload: reload.request, status: reload.status, stop }
}
