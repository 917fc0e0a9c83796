/**
 * The operator commands' HSM work (`xksgate keys …`, the doctor's HSM lines) runs in a child process with a
 * deadline. PKCS#11 calls are synchronous, and a network HSM that does not answer blocks its caller for good. A
 * worker thread is not enough: one stuck in a native call keeps its process from exiting, because Node joins its
 * threads at exit (measured: a module whose C_GetFunctionList never returns held `node` past the timeout, even
 * after process.exit). A process can be abandoned: it is killed at the deadline.
 *
 * The child loads the configuration itself, so no PIN crosses the IPC channel; only the job's name, its plain
 * input and its plain result do. Configuration and startup errors come back as the same classes, so the command
 * reports them exactly as it would have in-process.
 *
 * The HSM's deadline starts when the child is about to call the HSM, not at the fork: starting Node and loading
 * the modules and the configuration is the host's time, not the HSM's. On a 2-core host at load average 15-25
 * that start took 3-13 s (measured under the test suite, whose coverage hooks slow every child), while the HSM
 * calls took 0.1-0.4 s; a 15 s deadline from the fork failed healthy HSMs. The start has its own, generous bound.
 */
import { fork } from 'node:child_process'
import path from 'node:path'
import { ConfigError } from '../config/load'
import { StartupError } from '../runtime/exit'
import type { HsmJobs } from './hsm-jobs'

/** Login and key lookups of a healthy network HSM take well under a second; a silent one fails after this. */
export const DEFAULT_HSM_TIMEOUT_MS = 15_000
/** How long the child may take to start and load the configuration before it calls the HSM. */
export const HSM_JOB_START_TIMEOUT_MS = 120_000

export type HsmJobName = keyof HsmJobs
export type HsmJobInput<N extends HsmJobName> = Parameters<HsmJobs[N]>[1]
export type HsmJobOutput<N extends HsmJobName> = ReturnType<HsmJobs[N]>

export interface HsmJobTarget {
  /** The configuration file the child loads. */
  file: string
  env: NodeJS.ProcessEnv
  /** The HSM's time: from the child's first HSM call to its answer. */
  timeoutMs: number
  /** The host's time: from the fork until the child has loaded the configuration (default HSM_JOB_START_TIMEOUT_MS). */
  startTimeoutMs?: number
}

/** What the child sends when it has loaded the configuration and calls the HSM next. */
export const HSM_CALLS_NEXT = 'hsm-calls-next'

/** What the child sends back: the result, or the error as data. */
export type HsmJobReply =
  | { ok: true, result: unknown }
  | { ok: false, kind: 'config', problems: string[] }
  | { ok: false, kind: 'startup' | 'other', message: string }

/** The HSM did not answer within the deadline; the child was killed. */
export class HsmTimeoutError extends StartupError {
  constructor (timeoutMs: number) {
    super(`the HSM did not answer within ${timeoutMs} ms (is it reachable? the module may be waiting on the network); give more time with --hsm-timeout-ms`)
    this.name = 'HsmTimeoutError'
  }
}

export async function runHsmJob<N extends HsmJobName> (name: N, input: HsmJobInput<N>, target: HsmJobTarget): Promise<HsmJobOutput<N>> {
  const child = fork(path.join(__dirname, 'hsm-job-child.js'), [], { env: target.env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const reply = await new Promise<HsmJobReply | Error>(resolve => {
    const done = (outcome: HsmJobReply | Error): void => {
      clearTimeout(timer)
      child.removeAllListeners()
      resolve(outcome)
    }
    const killAfter = (ms: number, error: Error): NodeJS.Timeout => setTimeout(() => {
      child.kill('SIGKILL')
      done(error)
    }, ms)
    const startTimeoutMs = target.startTimeoutMs ?? HSM_JOB_START_TIMEOUT_MS
    let timer = killAfter(startTimeoutMs, new StartupError(`the HSM job's process did not start and load the configuration within ${startTimeoutMs} ms (is the host overloaded?)`))
    child.on('message', (message: HsmJobReply | typeof HSM_CALLS_NEXT) => {
      if (message !== HSM_CALLS_NEXT) return done(message)
      clearTimeout(timer)
      timer = killAfter(target.timeoutMs, new HsmTimeoutError(target.timeoutMs))
    })
    child.once('error', err => done(new StartupError(`the HSM job could not run: ${err.message}`)))
    child.once('close', (code, signal) => done(new StartupError(`the HSM job ended without an answer (${signal ?? `exit ${code}`}): the PKCS#11 module may have crashed`)))
    child.send({ name, input, file: target.file })
  })
  if (reply instanceof Error) throw reply
  if (reply.ok) return reply.result as HsmJobOutput<N>
  if (reply.kind === 'config') throw new ConfigError(reply.problems)
  throw reply.kind === 'startup' ? new StartupError(reply.message) : new Error(reply.message)
}

/** `--hsm-timeout-ms MS`, validated; a string is the usage error. */
export function parseHsmTimeout (value: string | boolean | undefined): number | string {
  const timeoutMs = Number(value ?? DEFAULT_HSM_TIMEOUT_MS)
  return Number.isInteger(timeoutMs) && timeoutMs >= 1 ? timeoutMs : `--hsm-timeout-ms must be a positive integer, got ${String(value)}`
}
