/**
 * How long an HSM operation submitted now would wait for its answer, estimated from the pool's live stats
 * (HsmBackend.stats(): queued, in flight, operations sent so far). The pool's capacity is learnt while it is
 * saturated (operations queued at every sample of a window of at least WINDOW_MS and MIN_COMPLETIONS): operations
 * completed over the window's length. The capacity kept is the latest measurement or, if higher, the previous
 * one decayed by DECAY: a slow window (a cold start, a moment of CPU contention) does not make admission refuse
 * requests that would have made it, and a real slowdown is followed within a few windows.
 * Completions over any LOWER_BOUND_WINDOW_MS, queued or not, are a lower bound on the capacity and raise the kept
 * one: a capacity measured while the HSM was slow (batches one after another at startup, at 5 ms an operation)
 * otherwise stayed until a saturated window closed, and behind a short queue that kept emptying none did, so
 * admission refused most requests with 429 while the HSM served thousands a second (bench, closed loop at 5 ms).
 * Outside saturation a new operation goes out with the next batch, so the estimate is 0; with a queue it is
 * (queued + in flight + 1) / capacity. Deadline-aware admission (./admission.ts) refuses a request whose estimate
 * exceeds what is left of its budget with 429 at once, instead of letting it queue into a 503 or a late 429.
 */
import type { HsmStats } from '../hsm/types'

/** Stats are read at most this often; between reads the last estimate stands. */
const SAMPLE_EVERY_MS = 1
/** A saturated stretch this long gives one capacity measurement (long enough to span a few batches). */
const WINDOW_MS = 50
/** Fewer completions than this in a window say too little about the capacity. */
const MIN_COMPLETIONS = 32
/** Per window, the kept capacity falls to this share of itself unless a measurement is higher. */
const DECAY = 0.8
/** Long enough that operations finishing together (a batch, a queue draining) do not pass for a rate. */
const LOWER_BOUND_WINDOW_MS = 250

export type BacklogStats = Pick<HsmStats, 'queued' | 'inFlight' | 'batchedOps'>

export class HsmBacklog {
  #sampledAt = -Infinity
  #waitMs = 0
  /** Operations answered per ms while saturated; undefined until first measured. */
  #opsPerMs: number | undefined
  #busySince: number | undefined
  #doneAtBusyStart = 0
  #observedSince: number | undefined
  #doneAtObservedStart = 0

  constructor (private readonly stats: () => BacklogStats) {}

  /** Estimated ms until an operation submitted at `now` (performance.now()) is answered. */
  waitMs (now: number): number {
    if (now - this.#sampledAt >= SAMPLE_EVERY_MS) this.#sample(now)
    return this.#waitMs
  }

  /** The capacity learnt so far (operations per second), for logs and tests. */
  get opsPerSecond (): number | undefined {
    return this.#opsPerMs === undefined ? undefined : this.#opsPerMs * 1000
  }

  #sample (now: number): void {
    this.#sampledAt = now
    const { queued, inFlight, batchedOps } = this.stats()
    const done = batchedOps - inFlight
    this.#raiseToObserved(now, done)
    if (queued === 0) {
      this.#busySince = undefined
      this.#waitMs = 0
      return
    }
    if (this.#busySince === undefined) {
      this.#busySince = now
      this.#doneAtBusyStart = done
    } else if (now - this.#busySince >= WINDOW_MS && done - this.#doneAtBusyStart >= MIN_COMPLETIONS) {
      // A window closes only on completions: one closed while a slow batch was still running would read 0.
      const measured = (done - this.#doneAtBusyStart) / (now - this.#busySince)
      this.#opsPerMs = this.#opsPerMs === undefined ? measured : Math.max(measured, this.#opsPerMs * DECAY)
      this.#busySince = now
      this.#doneAtBusyStart = done
    }
    this.#waitMs = this.#opsPerMs === undefined ? 0 : (queued + inFlight + 1) / Math.max(this.#opsPerMs, 1e-6)
  }

  /** Raises a kept capacity below what was completed over the last LOWER_BOUND_WINDOW_MS. */
  #raiseToObserved (now: number, done: number): void {
    if (this.#observedSince === undefined || now - this.#observedSince >= LOWER_BOUND_WINDOW_MS) {
      const completed = done - this.#doneAtObservedStart
      if (this.#observedSince !== undefined && this.#opsPerMs !== undefined && completed >= MIN_COMPLETIONS) {
        this.#opsPerMs = Math.max(this.#opsPerMs, completed / (now - this.#observedSince))
      }
      this.#observedSince = now
      this.#doneAtObservedStart = done
    }
  }
}
