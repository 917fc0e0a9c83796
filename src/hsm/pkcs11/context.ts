import { findSlot, finalize, initialize, type Handle, type Pkcs11Api } from './cryptoki'
import type { InitGate } from './init-gate'

/** Something worth a log line; never carries a PIN, plaintext or key material. */
export interface HsmEvent {
  event: 'session-opened' | 'session-reopened' | 'relogin' | 'reinitialized' | 'key-refound' |
    'leftover-sessions-closed' | 'recovery-failed'
  lane: number
  session?: number
  ckr?: string
  detail?: string
}

export type HsmEventSink = (e: HsmEvent) => void

/**
 * One thread's view of the per-process Cryptoki library: its pkcs11js object, its lane in the InitGate, and the
 * token's slot. Shared by the thread's TokenSessions.
 */
export class CryptokiContext {
  #slot: Handle | null = null

  constructor (
    readonly api: Pkcs11Api,
    readonly gate: InitGate,
    readonly lane: number,
    readonly tokenLabel: string,
    readonly onEvent: HsmEventSink = () => {}
  ) {}

  /** Initialise (serialised with every other thread) and find the token. The caller must not hold the gate. */
  start (): void {
    this.gate.exclusive(this.lane, () => {
      initialize(this.api)
      this.#slot = findSlot(this.api, this.tokenLabel)
    })
  }

  get slot (): Handle {
    if (this.#slot === null) throw new Error('CryptokiContext.start() was not called')
    return this.#slot
  }

  /** Runs fn with this thread inside PKCS#11 (no re-initialise can happen meanwhile). */
  withShared<T> (fn: () => T): T {
    this.gate.acquireShared(this.lane)
    try {
      return fn()
    } finally {
      this.gate.releaseShared(this.lane)
    }
  }

  /**
   * C_Finalize + C_Initialize with every other thread out of the library, unless another thread already did it
   * since `seenGeneration`. The caller holds the gate shared (and still does on return).
   */
  reinitialize (seenGeneration: number, ckr: string | undefined): void {
    const ran = this.gate.reinitialize(this.lane, seenGeneration, () => {
      finalize(this.api)
      initialize(this.api)
    })
    if (ran) this.onEvent({ event: 'reinitialized', lane: this.lane, ckr })
    // Slot ids may change across a re-initialise on some HSMs; the label does not.
    this.#slot = findSlot(this.api, this.tokenLabel)
  }
}
