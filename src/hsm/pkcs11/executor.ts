import type { MessagePort } from 'node:worker_threads'
import type { HsmOp, HsmOpOutcome } from './batch-codec'
import { CryptokiContext, type HsmEvent, type HsmEventSink } from './context'
import { loadModule } from './cryptoki'
import { InitGate } from './init-gate'
import { LaneTable } from './lanes'
import { describe, TokenSession, type IvSource } from './token-session'

/** What a worker thread gets as workerData. The PIN crosses threads in memory only; it is never logged. */
export interface WorkerConfig {
  modulePath: string
  tokenLabel: string
  pin: string
  sessionsPerThread: number
  ivSource: IvSource
  /** The module's gate, shared with every other pool on the same library (module-gates.ts). */
  gate: SharedArrayBuffer
  /** Where this pool's lanes start in `gate`. */
  gateLaneBase: number
  lanes: SharedArrayBuffer
}

/**
 * Messages a worker posts to the main thread (piscina re-emits them as the pool's 'message' event). `hsmReady`
 * hands over the worker's own MessagePort: operations travel on it, outside piscina's task queue.
 */
export type WorkerMessage =
  | { hsmReady: number, port: MessagePort }
  | { hsmStartFailed: string, threadId: number }
  | { hsmEvent: HsmEvent }

/** On a worker's port, besides batches (ArrayBuffers): close this thread's sessions, answered with SESSIONS_CLOSED. */
export const CLOSE_SESSIONS = 'close-sessions'
export const SESSIONS_CLOSED = 'sessions-closed'

const overloaded = (): HsmOpOutcome => ({ ok: false, failure: { kind: 'Overloaded', message: 'deadline passed before an HSM worker took the operation' } })

/** Runs batches of operations on one thread's sessions. */
export class Executor {
  #next = 0

  constructor (readonly ctx: CryptokiContext, readonly sessions: TokenSession[]) {}

  /**
   * Everything a thread does before it may serve: load the module, take a lane, initialise through the gate,
   * close sessions a crashed predecessor left in this lane, open and log in every session. Throws on failure.
   */
  static start (config: WorkerConfig, threadId: number, onEvent?: HsmEventSink): Executor {
    const api = loadModule(config.modulePath)
    const lanes = new LaneTable(config.lanes)
    const lane = lanes.claim(threadId)
    const ctx = new CryptokiContext(api, new InitGate(config.gate, config.gateLaneBase), lane, config.tokenLabel, onEvent)
    ctx.start()
    const sessions = Array.from({ length: config.sessionsPerThread }, (_, index) =>
      new TokenSession(ctx, { pin: config.pin, ivSource: config.ivSource, index, lanes }))
    ctx.withShared(() => {
      const leftovers = lanes.takeLeftovers(lane, ctx.gate.generation)
      for (const handle of leftovers) {
        try {
          api.C_CloseSession(handle)
        } catch { /* closed already */ }
      }
      if (leftovers.length > 0) {
        ctx.onEvent({ event: 'leftover-sessions-closed', lane, detail: `${leftovers.length} session(s)` })
      }
      for (const s of sessions) s.open()
    })
    return new Executor(ctx, sessions)
  }

  /**
   * One gate hold for the whole batch; sessions take operations in turn. An operation whose deadline has passed
   * is answered Overloaded and never executed: its caller has answered already.
   */
  run (ops: HsmOp[]): HsmOpOutcome[] {
    return this.ctx.withShared(() => ops.map(op => {
      if (Date.now() > op.deadline) return overloaded()
      const session = this.sessions[this.#next++ % this.sessions.length]
      try {
        return this.#one(session, op)
      } catch (err) {
        return { ok: false, failure: { kind: 'Internal', message: describe(err) } }
      }
    }))
  }

  closeSessions (): void {
    this.ctx.withShared(() => {
      for (const s of this.sessions) s.close()
    })
  }

  #one (session: TokenSession, op: HsmOp): HsmOpOutcome {
    switch (op.kind) {
      case 'encrypt':
        return session.encrypt(op)
      case 'decrypt':
        return session.decrypt(op)
      case 'describeKey':
        return session.describeKey(op.keyLabel)
      case 'tokenInfo':
        return session.tokenInfo()
    }
  }
}
