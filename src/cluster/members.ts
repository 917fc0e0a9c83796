/** The serving processes as the primary tracks them, and the configuration generation each one serves. */
import type { Worker } from 'node:cluster'
import { StartupError } from '../runtime/exit'
import { toWire, type WireConfig } from './config-wire'
import type { ValidatedConfig } from './validated-config'

/** A serving process that never became ready; `reason` is what it reported before exiting (its own error). */
export class ServingProcessFailed extends StartupError {
  constructor (message: string, exitCode: number, readonly reason: string) {
    super(message, exitCode)
    this.name = 'ServingProcessFailed'
  }
}

/** One validated configuration and its wire form; processes forked from it serve it. */
export interface Generation extends ValidatedConfig {
  id: number
  wire: WireConfig
}

export interface Member {
  worker: Worker
  generation: Generation
  ready: boolean
  /** Being stopped on purpose (a reload retired it, or it never became ready): not replaced when it exits. */
  retiring: boolean
  /** Started by a reload and not ready yet: if it dies, the reload reports it; nothing replaces it. */
  candidate: boolean
  /** Settles once the process serves, or rejects when it exits first. */
  readiness: Promise<void>
  exited: Promise<void>
}

/**
 * The other process a primary's line is about, under a key of its own: every line already carries the primary's
 * own `pid` and `worker` (log.ts), and a second `pid` on one line is a duplicate key that jq would take as the
 * line's origin.
 */
export function identity (worker: Worker): { worker: number, pid: number | undefined } {
  return { worker: worker.id, pid: worker.process.pid }
}

export function generation (id: number, validated: ValidatedConfig): Generation {
  return { id, ...validated, wire: toWire(validated.config, validated.tls) }
}
