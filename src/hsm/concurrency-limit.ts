/**
 * How many operations one HSM backend gets at once, learnt from the time its operations take in the HSM: an
 * additive-increase, multiplicative-decrease limit with a latency gradient, after Netflix's concurrency-limits
 * (github.com/Netflix/concurrency-limits, "Gradient2"), bounded by what the HSM and the configuration allow.
 *
 * Every WINDOW_MS it looks at the operations that finished:
 * - the fastest operation under WORTH_CONCURRENCY_MS means the HSM is CPU work on this host (SoftHSM): the
 *   backend is not `concurrent`, the limit is 1, and the pool sends batches run one after another on one
 *   session. The fastest, not the mean: on a loaded host some calls of a CPU-bound HSM wait for a core, but
 *   none of a network HSM's is faster than its round trip;
 * - a drop (the HSM answered busy, or an operation timed out in it) cuts the limit by a quarter;
 * - operations waited at the limit: it doubles until the latency first rises (a slow start, as TCP's), then
 *   becomes limit × gradient + √limit, the gradient being baseline × TOLERANCE / mean time, between 0.5 and 1
 *   (Gradient2): it grows by √limit while the HSM does not queue, and settles where its queueing balances that.
 *   At least Little's law for the arrivals at the baseline time (rate × time × HEADROOM). The baseline is the
 *   lowest mean seen; it follows a higher mean in windows with at most UNLOADED operations at once, so that an
 *   HSM that got slower for good is learnt again, while queueing at a high limit never passes for the HSM's
 *   own time;
 * - the latency held the limit down (a gradient below 1) for `probeEvery` windows in a row: the next window is
 *   a probe at half as many again. An HSM that queues internally takes longer per operation when given more at
 *   once and answers no more; one whose own time rose (while always busy, so that no window was unloaded) takes
 *   no longer and answers more, and its mean becomes the baseline. A probe that finds queueing restores the
 *   limit and waits twice as long before the next, up to PROBE_EVERY_MAX, so that a capped HSM sees a tenth of
 *   a second of half again as much queueing, once in 6 s;
 * - the limit went half unused: it shrinks by one, so a burst's sessions are handed back slowly.
 */

/** Length of one evaluation window. */
export const WINDOW_MS = 100
/**
 * An HSM whose fastest operation takes less is CPU work on this host, and more at once only adds hand-offs:
 * one session then does more than 4,000 operations a second, more than one process serves here, and an
 * asynchronous call cost ~40 µs more CPU than a synchronous one (steps.ts).
 */
export const WORTH_CONCURRENCY_MS = 0.25
/** A mean HSM time up to this many times its baseline is noise; beyond, the HSM queues operations internally. */
const TOLERANCE = 2
/** The most one window cuts the limit by the latency: to this share of it. */
const MIN_GRADIENT = 0.5
/** How fast the baseline follows a mean above it, per window with at most UNLOADED operations at once. */
const BASELINE_DRIFT = 0.1
const UNLOADED = 2
/** Operations that decide, before the first window ends, whether the HSM is worth several at once. */
const FIRST_SAMPLES = 4
/** Windows in a row whose fastest operation is worth concurrency before the backend goes concurrent. */
const WINDOWS_TO_GO_CONCURRENT = 3
/**
 * Or this many operations in a row that were: ~25 ms of batches on an HSM 1 ms away, ~120 ms at 5 ms, where
 * three windows would hold batches (one operation at a time) for 300 ms and answer the backlog late. A CPU-bound
 * HSM on a loaded host has a slow call where the thread lost its core, not two dozen in a row.
 */
const SLOW_IN_A_ROW_TO_GO_CONCURRENT = 24
/** Little's law target = arrivals × mean time × this, so that a burst finds a free session. */
const HEADROOM = 1.5
/** Windows held down by the latency before the first probe above the limit, and most between two probes. */
const PROBE_EVERY = 5
const PROBE_EVERY_MAX = 64
/**
 * A probe finds the HSM's own time when its mean stays below PROBE_TOLERANCE times the mean it left and its
 * operations answered per ms rise to PROBE_GAIN times: half again as many at once, each no slower, must answer
 * more. The second test is the one that decides: on a host short of CPU the times can stay level while nothing
 * more is answered, and raising the baseline there would let the limit climb with no gain.
 */
const PROBE_TOLERANCE = 1.2
const PROBE_GAIN = 1.25

interface Probe { fromLimit: number, meanMs: number, perMs: number }

export interface LimitView {
  limit: number
  concurrent: boolean
  /** Mean HSM time (ms) over the last window that had operations; 0 before the first. */
  meanMs: number
  baselineMs: number
}

export class ConcurrencyLimit {
  #limit = 1
  #max: number
  readonly #now: () => number
  #windowStart: number
  #count = 0
  #sumMs = 0
  #minMs = Infinity
  #drops = 0
  #arrivals = 0
  #saturated = false
  #peak = 0
  #meanMs = 0
  /** Whether operations are worth several at once (see `concurrent`). */
  #concurrent = false
  /** Consecutive windows whose fastest operation said so. */
  #slowWindows = 0
  /** Consecutive operations that took WORTH_CONCURRENCY_MS or more. */
  #slowInARow = 0
  /** Windows (this one included) whose drops are the batches' (see goConcurrent). */
  #batchDropWindows = 0
  #baselineMs: number | undefined
  /** Below it the limit doubles; set at the first cut. */
  #slowStartEnd = Infinity
  /** The next window's mean replaces the baseline (see goConcurrent). */
  #rebase = false
  /** Windows in a row in which the latency held the limit down, and the sums of their means and rates. */
  #heldWindows = 0
  #heldMeanSum = 0
  #heldRateSum = 0
  #probeEvery = PROBE_EVERY
  /** The window under way is a probe above `fromLimit`, left at `meanMs` and `perMs` operations answered a ms. */
  #probe: Probe | undefined

  /** `max`: the most the HSM and the configuration allow (sessions at once). */
  constructor (max: number, now: () => number = Date.now) {
    if (!Number.isInteger(max) || max < 1) throw new Error('the concurrency limit needs a maximum of at least 1')
    this.#max = max
    this.#now = now
    this.#windowStart = now()
  }

  get limit (): number {
    this.#tick()
    return this.#limit
  }

  get max (): number {
    return this.#max
  }

  /** Operations take long enough in the HSM to be worth several at once (else: batches on one session). */
  get concurrent (): boolean {
    this.#tick()
    return this.#concurrent
  }

  /** The HSM said it can take no more than this (e.g. it refused another session). */
  lowerMax (max: number): void {
    this.#max = Math.max(1, Math.min(this.#max, max))
    this.#limit = Math.min(this.#limit, this.#max)
  }

  view (): LimitView {
    return { limit: this.limit, concurrent: this.concurrent, meanMs: this.#meanMs, baselineMs: this.#baselineMs ?? 0 }
  }

  /** An operation was submitted. */
  arrived (): void {
    this.#tick()
    this.#arrivals++
  }

  /** `inFlight` operations are in the HSM now; `waiting` more could not go for want of room under the limit. */
  inUse (inFlight: number, waiting: boolean): void {
    this.#tick()
    if (inFlight > this.#peak) this.#peak = inFlight
    if (waiting) this.#saturated = true
  }

  /** One operation's time in the HSM. */
  sample (ms: number): void {
    this.#tick()
    this.#count++
    this.#sumMs += ms
    if (ms < this.#minMs) this.#minMs = ms
    this.#slowInARow = ms < WORTH_CONCURRENCY_MS ? 0 : this.#slowInARow + 1
    if (!this.#concurrent && this.#slowInARow >= SLOW_IN_A_ROW_TO_GO_CONCURRENT) this.#goConcurrent()
  }

  /** The HSM answered busy, or an operation timed out. */
  drop (): void {
    this.#tick()
    this.#drops++
  }

  #tick (): void {
    const now = this.#now()
    const elapsed = now - this.#windowStart
    // The first operations decide at once whether the HSM is worth several at once.
    const first = this.#baselineMs === undefined && this.#count >= FIRST_SAMPLES
    if (elapsed < WINDOW_MS && !first) return
    this.#evaluate(Math.max(1, elapsed))
    this.#windowStart = now
    this.#count = 0
    this.#sumMs = 0
    this.#minMs = Infinity
    this.#drops = 0
    this.#arrivals = 0
    this.#saturated = false
    this.#peak = 0
  }

  #evaluate (elapsedMs: number): void {
    const limit = this.#limit
    if (this.#count > 0) {
      const mean = this.#sumMs / this.#count
      this.#meanMs = mean
      this.#decideMode()
      // Only a window with few operations at once shows the HSM's own time: at more, it may be queueing.
      if (this.#baselineMs === undefined || this.#rebase || mean < this.#baselineMs) this.#baselineMs = mean
      else if (this.#peak <= UNLOADED) this.#baselineMs += (mean - this.#baselineMs) * BASELINE_DRIFT
      this.#rebase = false
    }
    const batchDrops = this.#batchDropWindows > 0
    if (batchDrops) this.#batchDropWindows--
    const mean = this.#meanMs
    const probe = this.#probe
    this.#probe = undefined
    if (!this.#concurrent) {
      this.#limit = 1
    } else if (this.#drops > 0 && !batchDrops) {
      if (probe !== undefined) this.#probeFound(probe, false)
      this.#cut(0.75)
    } else if (this.#count === 0) {
      // Nothing finished: nothing learnt.
    } else if (this.#saturated) {
      if (probe !== undefined && !this.#probeFound(probe, this.#foundOwnTime(probe, mean, elapsedMs))) return
      this.#grow(limit, mean, elapsedMs)
    } else if (this.#peak < limit / 2) {
      this.#limit = Math.max(1, limit - 1)
    }
  }

  /**
   * Gradient2: at most the baseline's tolerance the HSM does not queue (1); beyond, the limit shrinks in
   * proportion, and the square root added keeps it probing, so noise in the latency cannot pin it at 1.
   */
  #grow (limit: number, mean: number, elapsedMs: number): void {
    const baseline = this.#baselineMs ?? mean
    const gradient = Math.min(1, Math.max(MIN_GRADIENT, baseline * TOLERANCE / mean))
    if (gradient < 1) this.#slowStartEnd = Math.min(this.#slowStartEnd, limit)
    const grown = limit < this.#slowStartEnd ? limit * 2 : Math.floor(limit * gradient) + Math.ceil(Math.sqrt(limit))
    // Little's law at the HSM's unloaded time: what the arrivals need unless the HSM itself slows down.
    const little = Math.ceil(this.#arrivals / elapsedMs * baseline * HEADROOM)
    this.#limit = Math.min(this.#max, Math.max(1, grown, little))
    // Any gradient below 1 counts, not only one pinned at its floor: contention on the host adds to every time
    // measured (1 ms became 3, 5 ms became 8-17 under test load), which keeps a 1-to-5 ms rise off the floor.
    if (gradient === 1) {
      this.#heldWindows = this.#heldMeanSum = this.#heldRateSum = 0
      return
    }
    this.#heldWindows++
    this.#heldMeanSum += mean
    this.#heldRateSum += this.#count / elapsedMs
    if (this.#heldWindows < this.#probeEvery || this.#limit >= this.#max) return
    this.#probe = { fromLimit: this.#limit, meanMs: this.#heldMeanSum / this.#heldWindows, perMs: this.#heldRateSum / this.#heldWindows }
    this.#limit = Math.min(this.#max, this.#limit + Math.ceil(this.#limit / 2))
    this.#heldWindows = this.#heldMeanSum = this.#heldRateSum = 0
  }

  /** The probe had more at once, each no slower, and more answered (see PROBE_TOLERANCE). */
  #foundOwnTime (probe: Probe, mean: number, elapsedMs: number): boolean {
    return this.#peak > probe.fromLimit && mean < probe.meanMs * PROBE_TOLERANCE &&
      this.#count / elapsedMs >= probe.perMs * PROBE_GAIN
  }

  /**
   * What a probe above the limit found: the HSM's own time (`ownTime`: more at once, and each took no longer),
   * which becomes the baseline, or queueing, which sends the limit back and the next probe further off. Answers
   * whether the window goes on to be evaluated as any other.
   */
  #probeFound (probe: Probe, ownTime: boolean): boolean {
    if (ownTime) {
      this.#baselineMs = Math.min(probe.meanMs, this.#meanMs)
      this.#probeEvery = PROBE_EVERY
      return true
    }
    this.#limit = probe.fromLimit
    this.#probeEvery = Math.min(this.#probeEvery * 2, PROBE_EVERY_MAX)
    return false
  }

  /**
   * Batches go back at the first window whose fastest operation shows CPU work; going concurrent takes
   * WINDOWS_TO_GO_CONCURRENT windows in a row that say otherwise, each with FIRST_SAMPLES operations at least:
   * a window of a single probe, or one in which a CPU-bound HSM's calls all waited for a core, must not open
   * sessions that batches do not need.
   */
  #decideMode (): void {
    if (this.#count < FIRST_SAMPLES) return
    if (this.#minMs < WORTH_CONCURRENCY_MS) {
      this.#concurrent = false
      this.#slowWindows = 0
    } else if (++this.#slowWindows >= WINDOWS_TO_GO_CONCURRENT && !this.#concurrent) {
      this.#goConcurrent()
    }
  }

  /**
   * Leaving batches starts a slow start of its own: the timeouts of operations that queued behind the batches
   * (this window's and the next's) say nothing about how many the HSM takes at once, and must not end it at 1.
   * Nor does a baseline learnt while the HSM was CPU work on this host (an HSM whose latency rose, or the first
   * operations of a module that answers some calls locally) say what this HSM takes unloaded: kept, its
   * microseconds would make every window look queued, and the gradient would pin the limit at a few operations
   * for good (the baseline follows a slower HSM only in unloaded windows). The next window's mean sets it anew.
   */
  #goConcurrent (): void {
    this.#concurrent = true
    this.#rebase = true
    this.#slowStartEnd = Infinity
    this.#batchDropWindows = 2
    this.#limit = Math.min(this.#max, Math.max(this.#limit, 2))
  }

  #cut (factor: number): void {
    this.#limit = Math.max(1, Math.floor(this.#limit * factor))
    this.#slowStartEnd = this.#limit
  }
}
