/**
 * The time bound on request bodies (slow-loris guard), enforced by one coarse sweep instead of a timer per request:
 * a setTimeout costs an allocation and two timer-heap operations on every request, and nearly every KMS body
 * arrives in the same TLS record as its head. All entries of one instance share one timeout, so insertion order is
 * deadline order and a sweep stops at the first entry still in time. An entry is expired at most `sweepMs` after
 * its deadline; the interval runs only while some entry is pending.
 */
export interface Expirable {
  /** performance.now() value after which the entry expires (monotonic: a wall-clock step must not cut bodies off). */
  readonly deadline: number
  expire: () => void
}

export const SWEEP_MS = 250

export class BodyDeadlines<E extends Expirable> {
  readonly #pending = new Set<E>()
  #timer: NodeJS.Timeout | undefined

  constructor (private readonly sweepMs = SWEEP_MS) {}

  /** Entries must be added in deadline order: one timeout for all, counted from when each is added. */
  add (entry: E): void {
    this.#pending.add(entry)
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => this.#sweep(), this.sweepMs)
    // Never what keeps a process alive: the listening socket does that.
    this.#timer.unref()
  }

  delete (entry: E): void {
    this.#pending.delete(entry)
  }

  get sweeping (): boolean {
    return this.#timer !== undefined
  }

  #sweep (): void {
    const now = performance.now()
    for (const entry of this.#pending) {
      if (entry.deadline > now) break
      this.#pending.delete(entry)
      entry.expire()
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
