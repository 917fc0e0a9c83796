import type {
  DecryptResult, EncryptResult, HsmOutcome, KeyAttributes, TokenInfo,
} from '../types'
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
  gate: SharedArrayBuffer
  lanes: SharedArrayBuffer
}

/** Operations as they cross threads (structured clone turns Buffers into Uint8Arrays). */
export type HsmOp =
  | { kind: 'encrypt', keyLabel: string, plaintext: Uint8Array, gcmAad: Uint8Array, integrityPrefix?: Uint8Array }
  | { kind: 'decrypt', keyLabel: string, ciphertext: Uint8Array, tag: Uint8Array, iv: Uint8Array, gcmAad: Uint8Array }
  | { kind: 'describeKey', keyLabel: string }
  | { kind: 'tokenInfo' }

export type HsmOpOutcome = HsmOutcome<EncryptResult | DecryptResult | KeyAttributes | TokenInfo>

/** One piscina task: a batch of operations, or the pool's request to close this thread's sessions. */
export type WorkerTask = { ops: HsmOp[] } | { closeSessions: true }

/** Messages a worker posts to the main thread (piscina re-emits them as the pool's 'message' event). */
export type WorkerMessage =
  | { hsmReady: number }
  | { hsmStartFailed: string, threadId: number }
  | { hsmEvent: HsmEvent }

/** A view on the same memory, no copy. */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

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
    const ctx = new CryptokiContext(api, new InitGate(config.gate), lane, config.tokenLabel, onEvent)
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

  /** One gate hold for the whole batch; sessions take operations in turn. */
  run (ops: HsmOp[]): HsmOpOutcome[] {
    return this.ctx.withShared(() => ops.map(op => {
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
        return session.encrypt({
          keyLabel: op.keyLabel,
          plaintext: buf(op.plaintext),
          gcmAad: buf(op.gcmAad),
          integrityPrefix: op.integrityPrefix === undefined ? undefined : buf(op.integrityPrefix),
        })
      case 'decrypt':
        return session.decrypt({
          keyLabel: op.keyLabel, ciphertext: buf(op.ciphertext), tag: buf(op.tag), iv: buf(op.iv), gcmAad: buf(op.gcmAad),
        })
      case 'describeKey':
        return session.describeKey(op.keyLabel)
      case 'tokenInfo':
        return session.tokenInfo()
    }
  }
}
