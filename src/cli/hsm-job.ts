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
 */
import { fork } from 'node:child_process'
import path from 'node:path'
import { ConfigError } from '../config/load'
import { StartupError } from '../runtime/exit'
import type { HsmJobs } from './hsm-jobs'

/** Login and key lookups of a healthy network HSM take well under a second; a silent one fails after this. */
export const DEFAULT_HSM_TIMEOUT_MS = 15_000

export type HsmJobName = keyof HsmJobs
export type HsmJobInput<N extends HsmJobName> = Parameters<HsmJobs[N]>[1]
export type HsmJobOutput<N extends HsmJobName> = ReturnType<HsmJobs[N]>

export interface HsmJobTarget {
  /** The configuration file the child loads. */
  file: string
  env: NodeJS.ProcessEnv
  timeoutMs: number
}

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
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      done(new HsmTimeoutError(target.timeoutMs))
    }, target.timeoutMs)
    child.once('message', (message: HsmJobReply) => done(message))
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
