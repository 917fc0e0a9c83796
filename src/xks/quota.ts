/**
 * A key store's request quota (docs/xks-spec.md §3.1: a proxy MAY keep an independent quota per URI prefix and
 * answer 429 ThrottlingException past it): a token bucket refilled continuously at `rate` per second, holding at
 * most `burst`. The configured figures are per host; each of the host's serving processes holds its share
 * (rate/N, burst/N, at least one request), as connections spread over them evenly (docs/authorization.md "Quotas").
 */
export class TokenBucket {
  readonly #perMs: number
  readonly #burst: number
  #tokens: number
  #at: number

  constructor (rate: number, burst: number, processes = 1, now = performance.now()) {
    this.#perMs = rate / processes / 1000
    this.#burst = Math.max(1, burst / processes)
    this.#tokens = this.#burst
    this.#at = now
  }

  /** Takes one request's token if there is one; `now` is performance.now(). */
  take (now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs)
      this.#at = now
    }
    if (this.#tokens < 1) return false
    this.#tokens--
    return true
  }

  /** Gives back the token of a request that turned out not to count (refused later, or never authenticated). */
  refund (): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + 1)
  }
}
