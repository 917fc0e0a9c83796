/**
 * The recent latency of one HSM backend, for hedging (router.ts): the 95th percentile of its last WINDOW
 * successful operations. The quantile is recomputed every RECOMPUTE_EVERY samples, so an operation pays one array
 * store, and a copy and sort of WINDOW numbers (a few µs) is shared by RECOMPUTE_EVERY operations.
 */
const WINDOW = 256
const RECOMPUTE_EVERY = 32
/** Fewer samples than this say too little about the tail to act on. */
const MIN_SAMPLES = 64

export class LatencyWindow {
  readonly #samples = new Float64Array(WINDOW)
  #count = 0
  #p95: number | undefined

  record (ms: number): void {
    this.#samples[this.#count % WINDOW] = ms
    this.#count++
    if (this.#count >= MIN_SAMPLES && this.#count % RECOMPUTE_EVERY === 0) {
      const sorted = this.#samples.slice(0, Math.min(this.#count, WINDOW)).sort()
      this.#p95 = sorted[Math.floor(sorted.length * 0.95)]
    }
  }

  /** The 95th percentile in ms, or undefined until enough operations were seen. */
  get p95 (): number | undefined {
    return this.#p95
  }
}
