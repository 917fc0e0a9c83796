import { findSlot, finalize, initialize, TokenNotFound, type Handle, type Pkcs11Api } from './cryptoki'
import type { InitGate } from './init-gate'

/** Something worth a log line; never carries a PIN, plaintext or key material. */
export interface HsmEvent {
  event: 'session-opened' | 'session-reopened' | 'relogin' | 'reinitialized' | 'key-refound' |
    'leftover-sessions-closed' | 'recovery-failed' | 'token-found'
  lane: number
  session?: number
  ckr?: string
  detail?: string
}

export type HsmEventSink = (e: HsmEvent) => void

/** While the token stays missing after re-initialising (the HSM is down), the next try waits this long, doubling. */
export const RECONNECT_FIRST_MS = 10
export const RECONNECT_MAX_MS = 100

/**
 * One thread's view of the per-process Cryptoki library: its pkcs11js object, its lane in the InitGate, and the
 * token's slot. Shared by the thread's TokenSessions.
 */
export class CryptokiContext {
  #slot: Handle | null = null
  #started = false
  /** Since the token went missing: the next re-initialise is not tried before `#retryAt`. */
  #retryAt = 0
  #retryDelay = RECONNECT_FIRST_MS

  constructor (
    readonly api: Pkcs11Api,
    readonly gate: InitGate,
    readonly lane: number,
    readonly tokenLabel: string,
    readonly onEvent: HsmEventSink = () => {},
    readonly now: () => number = Date.now
  ) {}

  /** Initialise (serialised with every other thread) and find the token. The caller must not hold the gate. */
  start (): void {
    this.gate.exclusive(this.lane, () => {
      initialize(this.api)
      this.#slot = findSlot(this.api, this.tokenLabel)
    })
    this.#started = true
  }

  /** The token's slot; TokenNotFound while the last re-initialise did not find the token. */
  get slot (): Handle {
    if (!this.#started) throw new Error('CryptokiContext.start() was not called')
    if (this.#slot === null) throw new TokenNotFound(`token label ${JSON.stringify(this.tokenLabel)} not found after re-initialising (the HSM is down or unreachable)`)
    return this.#slot
  }

  /** How long until the next re-initialise may be tried (0 unless the token is missing). */
  get retryInMs (): number {
    return this.#slot === null ? Math.max(0, this.#retryAt - this.now()) : 0
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
   * since `seenGeneration`; then the token is found again by its label, since a network HSM's client that
   * reconnects may number its slots anew. While the token stays missing (its HSM is down) every call re-initialises
   * again, but not before the previous try's backoff has passed: TokenNotFound until then. The caller holds the
   * gate shared (and still does on return).
   */
  reinitialize (seenGeneration: number, ckr: string | undefined): void {
    const missing = this.#slot === null
    if (missing && this.now() < this.#retryAt) throw new TokenNotFound(`token label ${JSON.stringify(this.tokenLabel)} not found (the HSM is down or unreachable); next try in ${this.retryInMs} ms`)
    // With the token missing since the last re-initialise, that one did not help: this call makes another.
    const seen = missing ? this.gate.generation : seenGeneration
    const ran = this.gate.reinitialize(this.lane, seen, () => {
      finalize(this.api)
      initialize(this.api)
    })
    if (ran) this.onEvent({ event: 'reinitialized', lane: this.lane, ckr })
    this.#slot = null
    try {
      this.#slot = findSlot(this.api, this.tokenLabel)
    } catch (err) {
      this.#retryAt = this.now() + this.#retryDelay
      this.#retryDelay = Math.min(RECONNECT_MAX_MS, this.#retryDelay * 2)
      throw err
    }
    if (missing) this.onEvent({ event: 'token-found', lane: this.lane, ckr })
    this.#retryDelay = RECONNECT_FIRST_MS
  }
}
