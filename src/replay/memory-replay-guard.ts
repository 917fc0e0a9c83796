import { XksError } from '../xks/errors'
import { FULL, INSERTED, SignatureState, SignatureTable } from './signature-table'
import type { LocalReplayStats, ReplayGuard, ReplayGuardStatus, ReplayScope, ReplayVerdict } from './types'

/**
 * The in-process replay cache: the whole replay protection of a single-process proxy without Redis, and the
 * fallback (and same-process fast path) of the Redis guard.
 *
 * It never forgets a live signature. When it has no room for a new one it refuses the request with 429
 * ThrottlingException (retryable for KMS), counts the refusal and warns at most once a minute: a full cache
 * means traffic beyond what `replay.maxLocalEntries` was sized for, and accepting the request unrecorded would
 * open a replay window instead.
 *
 * It knows each of its signatures' states exactly (this process settles its own attempts), so a repeat of an
 * answered request is told from a concurrent duplicate without any time window.
 */

const FULL_WARNING_INTERVAL_MS = 60_000

export interface MemoryReplayGuardOptions {
  /** Live signatures it must hold: size it at peak req/s per process × (2 × maxSkewSeconds + 1). */
  maxEntries: number
  /** Called (at most once a minute) when a request is refused for lack of room. */
  onFull?: (stats: LocalReplayStats) => void
  /** Wall clock in ms; injectable for tests. Default `Date.now`. */
  now?: () => number
}

export class MemoryReplayGuard implements ReplayGuard {
  readonly #table: SignatureTable
  readonly #onFull: ((stats: LocalReplayStats) => void) | undefined
  readonly #now: () => number
  #refusals = 0
  #lastWarning = -Infinity

  constructor (options: MemoryReplayGuardOptions) {
    this.#now = options.now ?? Date.now
    this.#table = new SignatureTable(options.maxEntries, this.#now)
    this.#onFull = options.onFull
  }

  checkAndRecord (scope: ReplayScope, signature: string, expiresAtMs: number): ReplayVerdict {
    const slot = this.#table.insert(scope.index, signature, expiresAtMs, SignatureState.PENDING)
    if (slot === INSERTED) return 'fresh'
    if (slot === FULL) this.#refuse()
    switch (this.#table.stateAt(slot)) {
      case SignatureState.PENDING: return 'in-flight'
      case SignatureState.REPRESENTABLE:
        this.#table.setStateAt(slot, SignatureState.USED)
        return 'retry'
      default: return 'replay'
    }
  }

  /** True when the signature was pending here: this process's own first attempt, not settled before. */
  settle (scope: ReplayScope, signature: string, served: boolean): boolean {
    const slot = this.#table.slotOf(scope.index, signature)
    if (slot < 0 || this.#table.stateAt(slot) !== SignatureState.PENDING) return false
    this.#table.setStateAt(slot, served ? SignatureState.USED : SignatureState.REPRESENTABLE)
    return true
  }

  /** The signature's live state here, or undefined. */
  stateOf (scope: ReplayScope, signature: string): SignatureState | undefined {
    const slot = this.#table.slotOf(scope.index, signature)
    return slot < 0 ? undefined : this.#table.stateAt(slot)
  }

  /**
   * Records a verdict given elsewhere (Redis), overwriting the state it had here; with no room it is simply not
   * mirrored, Redis stays the authority.
   */
  mirror (scope: ReplayScope, signature: string, expiresAtMs: number, state: SignatureState): void {
    const slot = this.#table.insert(scope.index, signature, expiresAtMs, state)
    if (slot >= 0) this.#table.setStateAt(slot, state)
  }

  localStats (): LocalReplayStats {
    return { size: this.#table.size, capacity: this.#table.capacity, bytes: this.#table.bytes, refusals: this.#refusals }
  }

  status (): ReplayGuardStatus {
    return { backend: 'memory', degraded: false }
  }

  async close (): Promise<void> {}

  #refuse (): never {
    this.#refusals++
    const now = this.#now()
    if (now - this.#lastWarning >= FULL_WARNING_INTERVAL_MS) {
      this.#lastWarning = now
      this.#onFull?.(this.localStats())
    }
    throw new XksError('ThrottlingException', undefined, 'replay cache full')
  }
}
