/**
 * The circuit breaker of one HSM backend: it takes a backend that keeps failing out of the routing and lets a
 * probe bring it back in.
 *
 * closed ──(FAILURES_TO_OPEN backend failures in a row)──▶ open ──(probe due)──▶ probing
 *   ▲                                                        ▲                     │
 *   └──────────────── probe succeeded ───────────────────────┼──── probe failed ───┘
 *
 * Only failures of the backend count (device error, timeout, no session, an unknown CKR); data errors (a wrong tag,
 * a key without that usage) are the request's, and a success in between resets the count. A failure reaching this
 * far has survived the session's own repair and retry (TokenSession.run), so three in a row is a backend in
 * trouble, not a blip. Probes back off from PROBE_MIN_MS to PROBE_MAX_MS while they fail, so a dead backend costs
 * one probe every few seconds, and one that comes back is in again within PROBE_MAX_MS.
 */
import type { HsmFailureKind } from './types'

export type BreakerState = 'closed' | 'open' | 'probing'

export const FAILURES_TO_OPEN = 3
export const PROBE_MIN_MS = 250
export const PROBE_MAX_MS = 4000

/** Failures that say something about the backend; the rest are about the request (or the proxy's own load). */
const BACKEND_FAILURES = new Set<HsmFailureKind>(['Unavailable', 'Timeout', 'Internal', 'VerificationFailed'])

export function isBackendFailure (kind: HsmFailureKind): boolean {
  return BACKEND_FAILURES.has(kind)
}

export class Breaker {
  #state: BreakerState = 'closed'
  #failures = 0
  #probeDelay = PROBE_MIN_MS
  #probeAt = 0
  /** Times it opened: for metrics. */
  opened = 0
  /** Why it opened last, for logs, /readyz and GetHealthStatus. */
  reason: string | undefined

  constructor (private readonly now: () => number = Date.now) {}

  get state (): BreakerState {
    return this.#state
  }

  /** Closed: operations may go to the backend. */
  get closed (): boolean {
    return this.#state === 'closed'
  }

  success (): void {
    this.#failures = 0
    if (this.#state !== 'closed') {
      this.#state = 'closed'
      this.#probeDelay = PROBE_MIN_MS
      this.reason = undefined
    }
  }

  /** Returns true when this failure opened the breaker. */
  failure (reason: string): boolean {
    if (this.#state === 'probing') {
      this.#state = 'open'
      this.#probeDelay = Math.min(PROBE_MAX_MS, this.#probeDelay * 2)
      this.#probeAt = this.now() + this.#probeDelay
      this.reason = reason
      return false
    }
    if (this.#state === 'open' || ++this.#failures < FAILURES_TO_OPEN) return false
    this.#state = 'open'
    this.#probeAt = this.now() + this.#probeDelay
    this.reason = reason
    this.opened++
    return true
  }

  /** Opens at once, e.g. when the deep health check of the backend failed. */
  trip (reason: string): boolean {
    if (this.#state !== 'closed') return this.failure(reason)
    this.#failures = FAILURES_TO_OPEN - 1
    return this.failure(reason)
  }

  /** When open and its probe is due: moves to probing and returns true (the caller runs the probe). */
  takeProbe (): boolean {
    if (this.#state !== 'open' || this.now() < this.#probeAt) return false
    this.#state = 'probing'
    return true
  }
}
