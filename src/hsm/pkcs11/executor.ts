import type { MessagePort } from 'node:worker_threads'
import type { HsmOp, HsmOpOutcome } from './batch-codec'
import { CryptokiContext, type HsmEvent, type HsmEventSink } from './context'
import { loadModule, type Handle, type Pkcs11Api } from './cryptoki'
import { InitGate } from './init-gate'
import { LaneTable } from './lanes'
import { runAsync, runSync, type AsyncDriverContext } from './steps'
import { ThreadCalls } from './thread-calls'
import { describe, TokenSession, type IvSource, type TokenSessionOptions } from './token-session'

/** What a worker thread gets as workerData. The PIN crosses threads in memory only; it is never logged. */
export interface WorkerConfig {
  modulePath: string
  tokenLabel: string
  pin: string
  /** Sessions opened at start. */
  sessionsPerThread: number
  /** Sessions this thread may open as its concurrency grows. */
  maxSessions: number
  ivSource: IvSource
  /** The module's gate, shared with every other pool on the same library (module-gates.ts). */
  gate: SharedArrayBuffer
  /** Where this pool's lanes start in `gate`. */
  gateLaneBase: number
  lanes: SharedArrayBuffer
  /** After a session would not open, how long before this thread tries to open more. @default SESSION_RETRY_MS */
  sessionRetryMs?: number
}

/**
 * Messages a worker posts to the main thread (piscina re-emits them as the pool's 'message' event). `hsmReady`
 * hands over the worker's own MessagePort: operations travel on it, outside piscina's task queue.
 */
export type WorkerMessage =
  | { hsmReady: number, port: MessagePort, maxSessions: number }
  | { hsmStartFailed: string, threadId: number }
  | { hsmEvent: HsmEvent }

/** On a worker's port, besides batches (ArrayBuffers): close this thread's sessions, answered with SESSIONS_CLOSED. */
export const CLOSE_SESSIONS = 'close-sessions'
export const SESSIONS_CLOSED = 'sessions-closed'

/**
 * How long a thread stays at the sessions it has after another would not open. The HSM's own session limit
 * (CKR_SESSION_COUNT: other applications hold the rest) and a fault while it restarts or fails over look the same
 * from here, and both pass: the bound is tried again, never kept for the thread's life, or one refused open
 * during an HSM restart would cut the thread's concurrency until the process restarts.
 */
const SESSION_RETRY_MS = 10_000
const overloaded = (): HsmOpOutcome => ({ ok: false, failure: { kind: 'Overloaded', message: 'deadline passed before an HSM worker took the operation' } })
const internal = (err: unknown): HsmOpOutcome => ({ ok: false, failure: { kind: 'Internal', message: describe(err) } })

/** CK_TOKEN_INFO.ulMaxSessionCount; 0 (CK_EFFECTIVELY_INFINITE) and ~0 (CK_UNAVAILABLE_INFORMATION) set no bound. */
function tokenMaxSessions (api: Pkcs11Api, slot: Handle): number {
  const max = Number(api.C_GetTokenInfo(slot).maxSessionCount)
  return max > 0 && max < 0xffffffff ? max : Infinity
}

/** One operation's outcome and the time it spent in the HSM (µs). */
export type Answered = [outcome: HsmOpOutcome, hsmMicros: number]

/**
 * Runs operations on one thread's sessions: a batch one after another on one session (concurrency 1), or each
 * operation on a session of its own through the asynchronous calls (steps.ts). Sessions beyond the first
 * `sessionsPerThread` open when the concurrency needs them, up to `maxSessions`.
 */
export class Executor {
  readonly #idle: TokenSession[]
  readonly #waiting: Array<(s: TokenSession) => void> = []
  /** Operations of this thread inside the module; the gate is held shared while there is any. */
  #inside = 0
  #sessions: number
  readonly #maxSessions: number
  readonly #sessionRetryMs: number
  /** Until then no session opens beyond those there are (Date.now() ms): the last open failed. */
  #noNewSessionUntil = 0
  readonly #driver: AsyncDriverContext

  constructor (readonly ctx: CryptokiContext, sessions: TokenSession[], readonly sessionOptions: TokenSessionOptions,
    maxSessions: number, sessionRetryMs = SESSION_RETRY_MS) {
    this.#idle = [...sessions]
    this.#sessions = sessions.length
    this.#maxSessions = Math.max(maxSessions, sessions.length)
    this.#sessionRetryMs = sessionRetryMs
    this.#driver = { api: ctx.api, calls: new ThreadCalls(), generation: () => ctx.gate.generation }
  }

  /**
   * Everything a thread does before it may serve: load the module, take a lane, initialise through the gate,
   * close sessions a crashed predecessor left in this lane, open and log in the first sessions. Throws on failure.
   */
  static start (config: WorkerConfig, threadId: number, onEvent?: HsmEventSink): Executor {
    const api = loadModule(config.modulePath)
    const lanes = new LaneTable(config.lanes)
    const lane = lanes.claim(threadId)
    const ctx = new CryptokiContext(api, new InitGate(config.gate, config.gateLaneBase), lane, config.tokenLabel, onEvent)
    ctx.start()
    const options = { pin: config.pin, ivSource: config.ivSource, lanes }
    const sessions = Array.from({ length: config.sessionsPerThread }, (_, index) => new TokenSession(ctx, { ...options, index }))
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
    return new Executor(ctx, sessions, options, Math.min(config.maxSessions, lanes.sessionsPerLane, tokenMaxSessions(api, ctx.slot)), config.sessionRetryMs)
  }

  /** The most sessions this thread will open. */
  get maxSessions (): number {
    return this.#maxSessions
  }

  /**
   * A batch at concurrency 1 runs on this thread, one gate hold for all of it, and is answered whole. Otherwise
   * each operation runs on a session of its own and `answer` gets it as soon as it is done. An operation whose
   * deadline has passed is answered Overloaded and never executed: its caller has answered already.
   */
  run (concurrency: number, ops: readonly HsmOp[], answer: (index: number, answered: Answered) => void): void {
    // A synchronous batch must be the thread's only work in the module (steps.ts 'quiesce').
    if (concurrency <= 1 && this.#inside === 0 && this.#idle.length > 0) {
      const session = this.#idle[0]
      this.#enter()
      try {
        ops.forEach((op, i) => answer(i, this.#timed(op, () => runSync(this.ctx.api, session.steps(op)))))
      } finally {
        this.#leave()
      }
      return
    }
    ops.forEach((op, i) => { void this.#runAsync(op).then(a => answer(i, a)) })
  }

  closeSessions (): void {
    this.ctx.withShared(() => {
      for (const s of this.#idle) s.close()
    })
  }

  async #runAsync (op: HsmOp): Promise<Answered> {
    if (Date.now() > op.deadline) return [overloaded(), 0]
    const session = await this.#acquire()
    if (session === null) return [{ ok: false, failure: { kind: 'Unavailable', message: 'no HSM session could be opened' } }, 0]
    this.#enter()
    const started = performance.now()
    try {
      return [await runAsync(this.#driver, session.steps(op)), (performance.now() - started) * 1000]
    } catch (err) {
      return [internal(err), (performance.now() - started) * 1000]
    } finally {
      this.#leave()
      this.#release(session)
    }
  }

  #timed (op: HsmOp, fn: () => HsmOpOutcome): Answered {
    if (Date.now() > op.deadline) return [overloaded(), 0]
    const started = performance.now()
    try {
      return [fn(), (performance.now() - started) * 1000]
    } catch (err) {
      return [internal(err), (performance.now() - started) * 1000]
    }
  }

  /**
   * An idle session, a new one while under maxSessions, else the next one released; null if none can open. After
   * an open fails, the thread stays at the sessions it has for `sessionRetryMs`, then tries again.
   */
  async #acquire (): Promise<TokenSession | null> {
    const idle = this.#idle.pop()
    if (idle !== undefined) return idle
    if (this.#sessions < this.#maxSessions && Date.now() >= this.#noNewSessionUntil) {
      const session = new TokenSession(this.ctx, { ...this.sessionOptions, index: this.#sessions++ })
      this.#enter()
      try {
        session.open()
        return session
      } catch (err) {
        this.#sessions--
        this.#noNewSessionUntil = Date.now() + this.#sessionRetryMs
        this.ctx.onEvent({ event: 'recovery-failed', lane: this.ctx.lane, session: this.#sessions, detail: `cannot open another session (tried again in ${this.#sessionRetryMs} ms): ${describe(err)}` })
        if (this.#sessions === 0) return null
      } finally {
        this.#leave()
      }
    }
    return await new Promise(resolve => this.#waiting.push(resolve))
  }

  #release (session: TokenSession): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next(session)
    else this.#idle.push(session)
  }

  #enter (): void {
    if (this.#inside++ === 0) this.ctx.gate.acquireShared(this.ctx.lane)
  }

  #leave (): void {
    if (--this.#inside === 0) this.ctx.gate.releaseShared(this.ctx.lane)
  }
}
