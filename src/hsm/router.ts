/**
 * Several HSM backends behind the one HsmBackend interface: each operation goes to a healthy backend, a backend
 * that keeps failing is taken out by its circuit breaker (breaker.ts) and probed back in, and an operation that
 * failed on one backend for a reason other than its data is retried once on another if its deadline leaves time.
 *
 * Every backend holds the same keys under the same labels (each finds them on its own token), so any of them can
 * answer any operation:
 * - Encrypt retried elsewhere gets a fresh IV, because IVs are drawn inside the backend for each call
 *   (TokenSession): a first attempt that did encrypt before it failed or timed out never shares its IV with the
 *   retry, and its ciphertext is never returned.
 * - Decrypt is retried as it is: the same ciphertext, IV, tag and AAD.
 * - A data failure (wrong tag, key without that usage) is the same everywhere: never retried.
 * - A key one backend does not find is retried elsewhere without counting against that backend: every backend
 *   held every configured key at startup, so one that lost a key is out of step with its group (a partition
 *   restored from an old backup, a replication that failed), and the others may still serve it. Its deep health
 *   check, not this, decides whether the whole backend is out.
 *
 * Deadlines: `req.deadline` is the operation's whole budget; each attempt is also bounded by its backend's
 * `opTimeoutMs`, so a backend that hangs leaves time for the retry when the budget is larger than that.
 *
 * Hedging (`hsm[].hedge`, opt-in): an operation still unanswered on a hedging backend once it has waited that
 * backend's recent p95 latency is sent to another backend as well, and the first success wins. It trades a few
 * percent more HSM operations for a tail that one slow backend (a network hiccup, a busy partition) cannot set.
 * The hedge goes only to a backend whose breaker is closed, and only with MIN_RETRY_MS of the budget left; a data
 * failure from either answer ends the race, since it would be the same everywhere. The losing answer is dropped:
 * a hedged Encrypt's two ciphertexts have their own IVs, and only one is ever returned.
 */
import { Breaker, isBackendFailure, type BreakerState } from './breaker'
import { LatencyWindow } from './latency-window'
import type {
  DecryptRequest, DecryptResult, EncryptRequest, EncryptResult, HsmBackend, HsmFailureKind, HsmOutcome, HsmStats,
  KeyAttributes, TokenInfo,
} from './types'

/** A retry with less time than this left would only turn a fast failure into a late one. */
export const MIN_RETRY_MS = 5
/** How often open breakers are checked for a due probe. */
const PROBE_CHECK_MS = 100

export interface RoutedBackend {
  /** Unique among the backends: logs, metrics, GetHealthStatus. */
  name: string
  backend: HsmBackend
  /** Each attempt on this backend ends by then at the latest. */
  opTimeoutMs: number
  /** Runs this backend's deep health check; its result comes back through HsmRouter.healthResult. */
  probe: () => void
  /** Send an operation slower than this backend's recent p95 to another backend as well. */
  hedge?: boolean
}

interface Member extends RoutedBackend {
  breaker: Breaker
  /** Operations sent and not yet answered: the router spreads by it. */
  outstanding: number
  /** Operations that failed here and were retried on another backend. */
  failedOver: number
  /** Successful operations' latencies, kept only when it hedges. */
  latency: LatencyWindow | undefined
  /** Operations of this backend also sent to another one because they were slow, and those the other answered first. */
  hedged: number
  hedgesWon: number
}

export interface BackendView {
  name: string
  state: BreakerState
  /** Why the breaker opened, while it is not closed. */
  reason: string | undefined
  stats: HsmStats
  /** Times the breaker opened, and operations retried elsewhere after failing here. */
  opened: number
  failedOver: number
  /** Slow operations also sent to another backend, and those the other backend answered first. */
  hedged: number
  hedgesWon: number
}

export type BreakerChange = (name: string, state: BreakerState, reason: string | undefined) => void

type Call<T> = (backend: HsmBackend, deadline: number) => Promise<HsmOutcome<T>>

const worthRetrying = (kind: HsmFailureKind): boolean => kind === 'KeyNotFound' || isBackendFailure(kind)

export class HsmRouter implements HsmBackend {
  readonly #members: Member[]
  readonly #onChange: BreakerChange
  readonly #probeTimer: NodeJS.Timeout
  #next = 0

  constructor (backends: RoutedBackend[], onChange: BreakerChange = () => {}, now: () => number = Date.now) {
    if (backends.length === 0) throw new Error('HsmRouter needs at least one backend')
    this.#members = backends.map(b => ({
      ...b, breaker: new Breaker(now), outstanding: 0, failedOver: 0, latency: b.hedge === true ? new LatencyWindow() : undefined, hedged: 0, hedgesWon: 0,
    }))
    this.#onChange = onChange
    this.#probeTimer = setInterval(() => this.#probeDue(), PROBE_CHECK_MS)
    this.#probeTimer.unref()
  }

  encrypt (req: EncryptRequest): Promise<HsmOutcome<EncryptResult>> {
    return this.#route(req.deadline, (b, deadline) => b.encrypt(deadline === req.deadline ? req : { ...req, deadline }))
  }

  decrypt (req: DecryptRequest): Promise<HsmOutcome<DecryptResult>> {
    return this.#route(req.deadline, (b, deadline) => b.decrypt(deadline === req.deadline ? req : { ...req, deadline }))
  }

  describeKey (keyLabel: string, deadline: number): Promise<HsmOutcome<KeyAttributes>> {
    return this.#route(deadline, (b, d) => b.describeKey(keyLabel, d))
  }

  tokenInfo (deadline: number): Promise<HsmOutcome<TokenInfo>> {
    return this.#route(deadline, (b, d) => b.tokenInfo(d))
  }

  /** Summed over every backend. */
  stats (): HsmStats {
    const sum: HsmStats = { threads: 0, sessionsOpen: 0, queued: 0, inFlight: 0, batches: 0, batchedOps: 0, concurrencyLimit: 0 }
    for (const m of this.#members) {
      const s = m.backend.stats()
      for (const k of Object.keys(sum) as Array<keyof HsmStats>) sum[k] += s[k]
    }
    return sum
  }

  backends (): BackendView[] {
    return this.#members.map(m => ({
      name: m.name,
      state: m.breaker.state,
      reason: m.breaker.reason,
      stats: m.backend.stats(),
      opened: m.breaker.opened,
      failedOver: m.failedOver,
      hedged: m.hedged,
      hedgesWon: m.hedgesWon,
    }))
  }

  /** Why the backend is held out of the routing; undefined while its breaker is closed. */
  outReason (name: string): string | undefined {
    const breaker = this.#members.find(m => m.name === name)?.breaker
    return breaker === undefined || breaker.closed ? undefined : breaker.reason ?? 'failing'
  }

  /** A deep health check of one backend finished: it opens or closes that backend's breaker. */
  healthResult (name: string, failure: string | undefined): void {
    const member = this.#members.find(m => m.name === name)
    if (member === undefined) return
    if (failure === undefined) this.#success(member)
    else this.#failure(member, failure, true)
  }

  async close (): Promise<void> {
    clearInterval(this.#probeTimer)
    await Promise.all(this.#members.map(async m => await m.backend.close()))
  }

  #route<T> (deadline: number, call: Call<T>): Promise<HsmOutcome<T>> {
    const first = this.#pick(undefined) ?? this.#members[0]
    const attempt = this.#attempt(first, deadline, call)
    if (this.#members.length === 1) return attempt
    const hedgeAfterMs = first.latency?.p95
    if (hedgeAfterMs !== undefined) return this.#hedged(first, attempt, hedgeAfterMs, deadline, call)
    return attempt.then(outcome => this.#retried(first, outcome, deadline, call))
  }

  /** A first attempt's failure, retried once on another backend when that can help and time allows. */
  #retried<T> (first: Member, outcome: HsmOutcome<T>, deadline: number, call: Call<T>): HsmOutcome<T> | Promise<HsmOutcome<T>> {
    if (outcome.ok || !worthRetrying(outcome.failure.kind)) return outcome
    const second = this.#pick(first)
    if (second === undefined || deadline - Date.now() < MIN_RETRY_MS) return outcome
    first.failedOver++
    return this.#attempt(second, deadline, call)
  }

  /** The first attempt, and a second one on another backend if the first has not answered after `hedgeAfterMs`. */
  #hedged<T> (first: Member, attempt: Promise<HsmOutcome<T>>, hedgeAfterMs: number, deadline: number, call: Call<T>): Promise<HsmOutcome<T>> {
    return new Promise(resolve => {
      let hedge: Member | undefined
      let unanswered = 1
      let done = false
      const finish = (outcome: HsmOutcome<T> | Promise<HsmOutcome<T>>): void => {
        done = true
        clearTimeout(timer)
        resolve(outcome)
      }
      const answered = (from: Member, outcome: HsmOutcome<T>): void => {
        unanswered--
        if (done) return
        if (outcome.ok || !worthRetrying(outcome.failure.kind)) {
          if (outcome.ok && from === hedge) first.hedgesWon++
          finish(outcome)
        } else if (hedge === undefined) {
          // Failed before the hedge was due: the ordinary retry.
          finish(this.#retried(first, outcome, deadline, call))
        } else if (unanswered === 0) {
          finish(outcome)
        }
      }
      const timer = setTimeout(() => {
        if (done) return
        hedge = this.#pick(first)
        if (hedge === undefined || deadline - Date.now() < MIN_RETRY_MS) { hedge = undefined; return }
        first.hedged++
        unanswered++
        const to = hedge
        void this.#attempt(to, deadline, call).then(outcome => answered(to, outcome))
      }, hedgeAfterMs)
      void attempt.then(outcome => answered(first, outcome))
    })
  }

  #attempt<T> (m: Member, deadline: number, call: Call<T>): Promise<HsmOutcome<T>> {
    m.outstanding++
    const started = m.latency === undefined ? 0 : performance.now()
    return call(m.backend, Math.min(deadline, Date.now() + m.opTimeoutMs)).then(outcome => {
      m.outstanding--
      if (outcome.ok) {
        m.latency?.record(performance.now() - started)
        this.#success(m)
        return outcome
      }
      if (isBackendFailure(outcome.failure.kind)) this.#failure(m, outcome.failure.message, false)
      return { ok: false, failure: { ...outcome.failure, backend: m.name } }
    })
  }

  /**
   * The backend with the fewest operations outstanding among those whose breaker is closed, starting the scan
   * at a rotating index so that ties alternate. With `besides` (a retry): another closed one, or none. With
   * every breaker open, a first attempt still goes somewhere: refusing would fail the request for sure.
   */
  #pick (besides: Member | undefined): Member | undefined {
    const members = this.#members
    if (members.length === 1) return besides === undefined ? members[0] : undefined
    // Only first attempts turn the rotation: a retry's pick must not send every next first attempt to one backend.
    const start = besides === undefined ? this.#next++ % members.length : this.#next % members.length
    let best: Member | undefined
    for (let i = 0; i < members.length; i++) {
      const m = members[(start + i) % members.length]
      if (m === besides || !m.breaker.closed) continue
      if (best === undefined || m.outstanding < best.outstanding) best = m
    }
    if (best !== undefined || besides !== undefined) return best
    return members[start]
  }

  #success (m: Member): void {
    const wasOut = !m.breaker.closed
    m.breaker.success()
    if (wasOut) this.#onChange(m.name, 'closed', undefined)
  }

  #failure (m: Member, reason: string, fromHealthCheck: boolean): void {
    const opened = fromHealthCheck ? m.breaker.trip(reason) : m.breaker.failure(reason)
    if (opened) {
      this.#onChange(m.name, 'open', reason)
      // The deep check confirms (or not) at once, instead of waiting for the first probe.
      if (!fromHealthCheck) m.probe()
    }
  }

  #probeDue (): void {
    for (const m of this.#members) if (m.breaker.takeProbe()) m.probe()
  }
}
