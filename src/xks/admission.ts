/**
 * Load shedding. KMS gives each call 250 ms; a request that waits behind a long queue fails anyway, and makes
 * everything behind it fail too. Past `maxInFlight` requests in progress, answer 429 ThrottlingException at once:
 * KMS treats it as retryable, and the cheap answer keeps the process responsive.
 */
export class Admission {
  #inFlight = 0
  #rejected = 0

  constructor (private readonly maxInFlight: number) {}

  tryEnter (): boolean {
    if (this.#inFlight >= this.maxInFlight) {
      this.#rejected++
      return false
    }
    this.#inFlight++
    return true
  }

  leave (): void {
    this.#inFlight--
  }

  get inFlight (): number {
    return this.#inFlight
  }

  get rejected (): number {
    return this.#rejected
  }
}
